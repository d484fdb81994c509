package sim

import (
	"math"
	"time"
)

// epoch is true time zero of every run: a round instant, so windows of any
// whole number of milliseconds start on it.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// nodeClock is a fairmesh.Clock reading the simulator's virtual time with a
// node's skew and drift: epoch + t + skew + t·drift/1e6. It is read only on
// the simulator's single thread.
type nodeClock struct {
	now   *int64 // the run's true time, ns since epoch
	skew  int64
	drift float64 // ppm
}

// UnixNano returns the node's reading in Unix nanoseconds.
func (c *nodeClock) UnixNano() int64 {
	t := *c.now
	return epoch.UnixNano() + t + c.skew + int64(math.Round(float64(t)*c.drift/1e6))
}

// Now returns the node's reading.
func (c *nodeClock) Now() time.Time { return time.Unix(0, c.UnixNano()).UTC() }
