package crdt

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Timestamp is a hybrid logical clock reading. WallTime is the physical part
// in Unix nanoseconds; Logical orders events that share a WallTime.
//
// Timestamps are ordered by WallTime, then Logical. The zero value is the
// smallest timestamp any clock in this package can issue ([HLC.Now] always
// returns one strictly greater). A Timestamp is a plain value and safe to copy
// and share.
type Timestamp struct {
	WallTime int64
	Logical  uint32
}

// Less reports whether t orders strictly before u.
func (t Timestamp) Less(u Timestamp) bool {
	return t.compare(u) < 0
}

// IsZero reports whether t is the zero Timestamp.
func (t Timestamp) IsZero() bool {
	return t == Timestamp{}
}

// String formats t as seconds.nanoseconds,logical, for example
// "1700000000.000000123,4". It is meant for logs and errors, not parsing.
func (t Timestamp) String() string {
	sign, u := "", uint64(t.WallTime)
	if t.WallTime < 0 {
		sign, u = "-", -u // two's complement negation is exact for every int64
	}
	return fmt.Sprintf("%s%d.%09d,%d", sign, u/1e9, u%1e9, t.Logical)
}

// compare returns -1, 0 or +1 as t orders before, with, or after u.
func (t Timestamp) compare(u Timestamp) int {
	switch {
	case t.WallTime < u.WallTime:
		return -1
	case t.WallTime > u.WallTime:
		return 1
	case t.Logical < u.Logical:
		return -1
	case t.Logical > u.Logical:
		return 1
	}
	return 0
}

// next returns the smallest timestamp strictly greater than t. When the
// logical counter is exhausted it carries into the wall time, which stays
// correct for ordering (four billion events in one nanosecond do not happen
// with a sane physical clock). Wall times near math.MaxInt64 (year 2262) are
// out of range.
func (t Timestamp) next() Timestamp {
	if t.Logical == math.MaxUint32 {
		return Timestamp{WallTime: t.WallTime + 1}
	}
	return Timestamp{WallTime: t.WallTime, Logical: t.Logical + 1}
}

// ErrClockOffset is returned, wrapped with detail, by [HLC.Update] when a
// remote timestamp is further ahead of the local physical clock than the
// clock's maximum offset. Test for it with errors.Is.
var ErrClockOffset = errors.New("crdt: remote timestamp too far ahead of the local clock")

// HLC is a hybrid logical clock (Kulkarni et al. 2014) over an injected
// physical clock, with a maximum-offset guard after CockroachDB's hlc.
//
// Every timestamp it issues is strictly greater than every timestamp it has
// issued or adopted before, even when the physical clock steps backwards; the
// WallTime of its timestamps never falls behind the physical clock.
//
// The zero value is not usable; construct one with [NewHLC]. An HLC is NOT
// safe for concurrent use: callers that share one hold their own lock.
type HLC struct {
	physical  func() int64
	maxOffset time.Duration
	last      Timestamp
}

// NewHLC returns a clock that reads physical time from physical, which must
// return Unix nanoseconds; the package itself never calls time.Now. Readings
// before the Unix epoch behave like a physical clock stuck at the epoch. The
// physical function is called exactly once per [HLC.Now] or [HLC.Update] and
// never by [HLC.Last].
//
// maxOffset bounds how far a remote timestamp's WallTime may be ahead of the
// local physical clock and still be adopted by [HLC.Update]; maxOffset <= 0
// disables the guard. NewHLC panics if physical is nil.
func NewHLC(physical func() int64, maxOffset time.Duration) *HLC {
	if physical == nil {
		panic("crdt: NewHLC: physical clock is nil")
	}
	return &HLC{physical: physical, maxOffset: maxOffset}
}

// Now records a local or send event and returns its timestamp: strictly
// greater than every timestamp returned or adopted before, with WallTime at
// least the current physical time.
func (c *HLC) Now() Timestamp {
	return c.now(c.physical())
}

// now is Now with the physical time already read.
func (c *HLC) now(pt int64) Timestamp {
	if pt > c.last.WallTime {
		c.last = Timestamp{WallTime: pt}
	} else {
		c.last = c.last.next()
	}
	return c.last
}

// Update records the receipt of a message stamped remote and returns the
// timestamp of the receive event, strictly greater than both remote and every
// timestamp returned or adopted before.
//
// If the guard is on and remote.WallTime is more than maxOffset ahead of the
// local physical time, remote is NOT adopted: Update records a plain local
// event instead and returns its timestamp together with an error for which
// errors.Is(err, ErrClockOffset) holds. The caller decides what to do with
// the message; the clock is left as if the message never arrived.
func (c *HLC) Update(remote Timestamp) (Timestamp, error) {
	pt := c.physical()
	if c.tooFarAhead(remote.WallTime, pt) {
		ts := c.now(pt)
		return ts, fmt.Errorf("%w: remote %s, local physical %s, max offset %s",
			ErrClockOffset, remote, Timestamp{WallTime: pt}, c.maxOffset)
	}

	prev := c.last
	wall := max(prev.WallTime, remote.WallTime, pt)
	switch {
	case wall == prev.WallTime && wall == remote.WallTime:
		c.last = Timestamp{WallTime: wall, Logical: max(prev.Logical, remote.Logical)}.next()
	case wall == prev.WallTime:
		c.last = prev.next()
	case wall == remote.WallTime:
		c.last = remote.next()
	default:
		c.last = Timestamp{WallTime: pt}
	}
	return c.last, nil
}

// tooFarAhead reports whether wall exceeds pt+maxOffset, without overflow.
func (c *HLC) tooFarAhead(wall, pt int64) bool {
	if c.maxOffset <= 0 || wall <= pt {
		return false
	}
	// wall > pt, so the true difference is in (0, 2^64) and the unsigned
	// subtraction is exact.
	return uint64(wall)-uint64(pt) > uint64(c.maxOffset)
}

// Last returns the latest timestamp issued or adopted, or the zero Timestamp
// if there is none. It has no side effect and does not read the physical clock.
func (c *HLC) Last() Timestamp {
	return c.last
}
