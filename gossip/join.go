package gossip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Join backoff bounds.
const (
	joinBackoffMin = 100 * time.Millisecond
	joinBackoffMax = 5 * time.Second
)

// ErrNotJoined is returned by WaitJoined when the background join gave up.
var ErrNotJoined = errors.New("gossip: could not join any peer")

// join is the joiner goroutine. It joins Config.Join with backoff until one
// peer answers (then closes m.joined with m.joinErr nil), or gives up when
// ctx ends, stop is closed or JoinTimeout passes (m.joinErr says why).
// Once joined it re-joins missing peers every RejoinInterval until stop.
func (m *Mesh) join(ctx context.Context, stop <-chan struct{}) {
	if err := m.firstJoin(ctx, stop); err != nil {
		m.joinErr = err
		close(m.joined)
		return
	}
	close(m.joined)
	if m.cfg.RejoinInterval < 0 {
		return
	}
	t := time.NewTicker(m.cfg.RejoinInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if missing := m.missingPeers(); len(missing) > 0 {
				m.st.joinAttempts.Add(1)
				if n, _ := m.ml.Join(missing); n == 0 {
					m.st.failedJoins.Add(1)
				}
			}
		}
	}
}

func (m *Mesh) firstJoin(ctx context.Context, stop <-chan struct{}) error {
	if len(m.cfg.Join) == 0 {
		return nil
	}
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(len(m.cfg.NodeID))))
	deadline := time.NewTimer(m.cfg.JoinTimeout)
	defer deadline.Stop()
	backoff := joinBackoffMin
	var last error
	for {
		m.st.joinAttempts.Add(1)
		n, err := m.ml.Join(m.cfg.Join)
		// Join lists may name this node too: joining only ourselves is not
		// joining.
		if n > 0 && m.ml.NumMembers() > 1 {
			m.log.Info("gossip: joined", "peers", n)
			return nil
		}
		m.st.failedJoins.Add(1)
		if err == nil {
			err = errors.New("only this node answered")
		}
		last = err
		m.log.Debug("gossip: join failed, retrying", "err", err, "in", backoff)
		// ±20 % jitter, so that nodes started together do not retry together.
		wait := time.Duration(float64(backoff) * (0.8 + 0.4*rnd.Float64()))
		retry := time.NewTimer(wait)
		select {
		case <-retry.C:
		case <-ctx.Done():
			retry.Stop()
			return fmt.Errorf("%w: %w (last error: %v)", ErrNotJoined, ctx.Err(), last)
		case <-stop:
			retry.Stop()
			return fmt.Errorf("%w: closed (last error: %v)", ErrNotJoined, last)
		case <-deadline.C:
			retry.Stop()
			return fmt.Errorf("%w within %v (last error: %v)", ErrNotJoined, m.cfg.JoinTimeout, last)
		}
		backoff = min(2*backoff, joinBackoffMax)
	}
}

// missingPeers returns the Join addresses that no current member has. An
// address given by host name never matches and is always re-joined: one
// push/pull per RejoinInterval.
func (m *Mesh) missingPeers() []string {
	have := map[string]bool{}
	for _, n := range m.ev.nodes() {
		have[n.Address()] = true
	}
	var out []string
	for _, a := range m.cfg.Join {
		if !have[a] {
			out = append(out, a)
		}
	}
	return out
}

// WaitJoined blocks until the background join has succeeded (nil), given
// up (an error wrapping ErrNotJoined) or ctx ends (ctx.Err()). With an
// empty Config.Join it returns nil at once. Safe for concurrent use.
func (m *Mesh) WaitJoined(ctx context.Context) error {
	select {
	case <-m.joined:
		return m.joinErr
	case <-ctx.Done():
		return ctx.Err()
	}
}
