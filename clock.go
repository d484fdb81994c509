package fairmesh

import "time"

// Clock is the Node's only source of time. Now must be safe for concurrent
// use: Allow calls it from many goroutines. A clock that steps backwards does
// no harm: a client's window never moves back, so it cannot create requests.
type Clock interface{ Now() time.Time }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// nanoClock is implemented by clocks that can answer without a time.Time.
type nanoClock interface{ UnixNano() int64 }
