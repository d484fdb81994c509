package crdt_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/fairmesh/fairmesh/crdt"
)

// Two replicas exchange deltas; a duplicated and a reordered delivery leave
// the result unchanged.
func ExamplePNCounter() {
	a, b := crdt.NewPNCounter(), crdt.NewPNCounter()
	a.Increment("a", 3)
	d1 := a.TakeDelta()
	a.Decrement("a", 1)
	d2 := a.TakeDelta()
	b.Increment("b", 10)

	b.Merge(d2) // arrives first
	b.Merge(d1) // stale: raises nothing
	b.Merge(d2) // duplicate
	a.Merge(b.TakeDelta())

	fmt.Println(a.Value(), b.Value())
	fmt.Println(b.State().Entries)
	// Output:
	// 12 12
	// [{a 3 1} {b 10 0}]
}

// A remote timestamp beyond the maximum offset is refused, not adopted.
func ExampleHLC_Update() {
	physical := int64(1_000_000_000)
	clock := crdt.NewHLC(func() int64 { return physical }, 500*time.Millisecond)

	ts, err := clock.Update(crdt.Timestamp{WallTime: physical + int64(400*time.Millisecond)})
	fmt.Println(ts, err)

	ts, err = clock.Update(crdt.Timestamp{WallTime: physical + int64(2*time.Second)})
	fmt.Println(ts, errors.Is(err, crdt.ErrClockOffset))
	// Output:
	// 1.400000000,1 <nil>
	// 1.400000000,2 true
}
