package gossip

import (
	"sync"
	"time"
)

// memberlist v0.7.0 does not tell its user that a member is suspect, nor
// whether a member that is gone crashed or left: the State of the Nodes
// that Members() and NotifyLeave hand out is never written (memberlist
// keeps the real state in a field of its own, which shadows it). So the
// runtime keeps its own evidence: every member's Node sends something to
// every other at each tick (a beacon of a few bytes when it has nothing
// else), so a member memberlist still lists but that has been silent for
// Config.SuspectAfter is suspect; and a member that closes gracefully says
// so first (a leave envelope), so that its departure reads "left", not
// "dead".
type liveness struct {
	mu      sync.Mutex
	heard   map[string]heardAt   // last envelope from each sender
	leaving map[string]time.Time // leave notices received
}

// heardAt is when a sender was last heard, and the quiet pace it announced
// then (0: its normal pace).
type heardAt struct {
	at   time.Time
	pace time.Duration
}

// maxLiveness bounds both maps; the members poller prunes them to the
// current members, and past the bound new senders are not recorded (they
// are then judged by the time the poller first saw them).
const maxLiveness = 4096

func newLiveness() *liveness {
	return &liveness{heard: map[string]heardAt{}, leaving: map[string]time.Time{}}
}

// noteHeard records an envelope from id, sent at the quiet pace given (0:
// not quiet). Called by the receiver goroutine.
func (l *liveness) noteHeard(id string, now time.Time, pace time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.heard[id]; ok || len(l.heard) < maxLiveness {
		l.heard[id] = heardAt{at: now, pace: pace}
	}
}

// noteLeaving records a leave notice from id. Called by the receiver.
func (l *liveness) noteLeaving(id string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.leaving[id]; ok || len(l.leaving) < maxLiveness {
		l.leaving[id] = now
	}
}

// lastHeard returns when id was last heard from (zero: never) and the
// quiet pace it announced then.
func (l *liveness) lastHeard(id string) (time.Time, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.heard[id]
	return h.at, h.pace
}

// left reports whether id sent a leave notice since the given time.
func (l *liveness) left(id string, since time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.leaving[id]
	return ok && !t.Before(since)
}

// prune forgets senders that keep is false for. Called by the poller.
func (l *liveness) prune(keep func(id string) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id := range l.heard {
		if !keep(id) {
			delete(l.heard, id)
		}
	}
	for id := range l.leaving {
		if !keep(id) {
			delete(l.leaving, id)
		}
	}
}
