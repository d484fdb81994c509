package fairmesh

import (
	"errors"
	"fmt"
)

// ErrNotTracked is returned by Return for a client this node has not
// admitted anything for recently (it is not tracked here).
var ErrNotTracked = errors.New("fairmesh: client is not tracked on this node")

// Return gives back up to n requests of clientID that this node admitted in
// the client's current window and that never reached the protected API (a
// request the caller dropped, or failed before sending): they count neither
// against the client's limit nor against the capacity, and may be admitted
// again in the same window (for a client whose window is longer than the
// capacity's, they still count against the capacity windows they were
// admitted in). It gives back at most what this node admitted
// for the client in the window, so a caller cannot mint rights by
// returning more; requests admitted in an earlier window cannot be
// returned. It is refused, changing nothing, for an invalid ID, n < 1 or
// n > MaxRate, and a client not tracked here (ErrNotTracked). Safe for
// concurrent use with Allow; it takes no global lock on a known client.
func (n *Node) Return(clientID string, k int) error {
	if err := ValidateClientID(clientID); err != nil {
		return err
	}
	if k < 1 || k > MaxRate {
		return fmt.Errorf("fairmesh: cannot return %d requests: must be in [1, %d]", k, MaxRate)
	}
	h := n.hashID(clientID)
	e := n.table.Lookup(h, clientID)
	if e == nil {
		return fmt.Errorf("%w: %q", ErrNotTracked, clientID)
	}
	now := n.fastNow() // the reading Decide counted on
	p := e.Policy()
	w := now / p.Period
	_, before := e.Counts(w)
	got := e.Release(now, uint64(k))
	if got == 0 {
		return nil
	}
	// Admissions past the reserved slice took one pool unit each: give
	// those back too, newest first (the ones above the slice). Counting
	// fewer than were taken only leaves capacity unused; never more. A
	// client whose window is not within one capacity window (a quota per
	// minute, say) took its units in capacity windows that may have
	// ended: giving them back to the current one would let it admit
	// past the capacity, so they stay taken.
	slice := p.Slice
	if w > p.Window {
		slice = p.NextSlice
	}
	if p.Pool != nil && before > slice && n.reserves(p.Period) {
		p.Pool.Release(now, min(got, before-slice))
	}
	n.returned.Add(got)
	return nil
}
