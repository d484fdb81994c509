// Package clock holds the Clocks that drive a fairmesh Node: a coarse wall
// clock cheap enough for the Allow fast path, and a manual clock for tests.
package clock

import (
	"sync"
	"sync/atomic"
	"time"
)

// CoarseClock is a fairmesh.Clock that reads in about a nanosecond: a
// background goroutine stores the wall time every Resolution, and UnixNano
// returns the stored value. time.Now costs ~36 ns on the machines we measure
// on, more than the rest of Allow, so `fairmesh serve` uses this clock. Its
// error is at most one Resolution behind the wall clock, which is harmless
// for windows of 1 ms and more. That bound holds while the Go scheduler can
// run the goroutine: when every P spins without blocking, it runs late
// (measured once: up to ~60 ms behind with two goroutines spinning on the
// 2-core CI machine; a server that waits on I/O yields constantly and does
// not see this). A late reading only starts windows late; counts stay exact
// per window (the Node counts a reading that lags its policies in the
// policies' window).
//
// The clock ticks only while it is read: after idleTicks ticks without a
// reading its goroutine sleeps, and the next UnixNano reads the wall clock
// itself (time.Now's cost, once) and wakes it. An idle node therefore costs
// no wakeups a millisecond. Stop must be called to release the goroutine;
// UnixNano keeps returning the last stored time after Stop.
type CoarseClock struct {
	nanos atomic.Int64
	// used is set by readers and cleared by the ticker: a reader writes
	// it only when it finds it clear, at most once a tick, so the fast
	// path's cache line stays shared.
	used     atomic.Bool
	sleeping atomic.Bool
	wake     chan struct{} // buffered 1
	woke     chan struct{} // buffered 1: see Woke
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

// idleTicks is how many ticks without a reading put the clock to sleep:
// 100 ms at the default resolution, long against the gaps of a node that
// serves traffic, short against a node that waits.
const idleTicks = 100

// NewCoarseClock starts a CoarseClock updated every resolution (1 ms when
// resolution <= 0). The caller owns it and must call Stop.
func NewCoarseClock(resolution time.Duration) *CoarseClock {
	if resolution <= 0 {
		resolution = time.Millisecond
	}
	c := &CoarseClock{wake: make(chan struct{}, 1), woke: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	c.nanos.Store(time.Now().UnixNano())
	go c.run(resolution)
	return c
}

func (c *CoarseClock) run(resolution time.Duration) {
	defer close(c.done)
	t := time.NewTicker(resolution)
	defer t.Stop()
	idle := 0
	for {
		select {
		case <-c.stop:
			return
		case now := <-t.C:
			c.nanos.Store(now.UnixNano())
			if c.used.Swap(false) {
				idle = 0
				continue
			}
			if idle++; idle < idleTicks {
				continue
			}
			// Asleep: readers read the wall clock and wake it.
			t.Stop()
			c.sleeping.Store(true)
			select {
			case <-c.stop:
				return
			case <-c.wake:
			}
			c.nanos.Store(time.Now().UnixNano())
			c.sleeping.Store(false)
			select {
			case c.woke <- struct{}{}:
			default:
			}
			idle = 0
			t.Reset(resolution)
		}
	}
}

// Now returns the exact wall time. The Node reads it only off the fast
// path (to compare its clock with a peer's), where a reading up to one
// Resolution stale would bias every comparison the same way.
func (c *CoarseClock) Now() time.Time { return time.Now() }

// UnixNano returns the last stored wall time in Unix nanoseconds, without
// building a time.Time: the cheap, coarse reading. The Node's fast path
// uses it when its Clock is a *CoarseClock. While the clock sleeps (nobody
// read it for idleTicks ticks) it returns the wall time and wakes it.
func (c *CoarseClock) UnixNano() int64 {
	if c.sleeping.Load() {
		select {
		case c.wake <- struct{}{}:
		default: // a wakeup is pending already
		}
		return time.Now().UnixNano()
	}
	if !c.used.Load() {
		c.used.Store(true)
	}
	return c.nanos.Load()
}

// Asleep reports whether the clock sleeps: nobody read it with UnixNano for
// idleTicks ticks, so no decision was made in that time.
func (c *CoarseClock) Asleep() bool { return c.sleeping.Load() }

// Woke is signalled (one value, never blocking the clock) each time a
// reading wakes the sleeping clock: decisions have started again. A runtime
// that slowed down while the clock slept speeds up on it.
func (c *CoarseClock) Woke() <-chan struct{} { return c.woke }

// Stop ends the update goroutine and waits for it. It is safe to call
// twice. UnixNano keeps returning the last stored time after Stop.
func (c *CoarseClock) Stop() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
	c.sleeping.Store(false)
}

// ManualClock is a fairmesh.Clock for tests and simulations: time moves only when the
// caller sets or advances it. Safe for concurrent use.
type ManualClock struct{ nanos atomic.Int64 }

// NewManualClock returns a ManualClock reading t.
func NewManualClock(t time.Time) *ManualClock {
	c := &ManualClock{}
	c.nanos.Store(t.UnixNano())
	return c
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time { return time.Unix(0, c.nanos.Load()) }

// UnixNano returns the clock's current time in Unix nanoseconds.
func (c *ManualClock) UnixNano() int64 { return c.nanos.Load() }

// Set moves the clock to t, backwards too (to test clamping).
func (c *ManualClock) Set(t time.Time) { c.nanos.Store(t.UnixNano()) }

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) { c.nanos.Add(int64(d)) }
