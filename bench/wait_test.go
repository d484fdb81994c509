package bench

import (
	"context"
	"testing"
	"time"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/clock"
)

// BenchmarkWait: Wait on a client with room in its window must cost about
// what Allow costs (it must not park, or take a lock, when it need not).
// Compare the two sub-benchmarks of one run. The client has no limit: at a
// limit, Allow's refusals return at once while Wait waits for the next
// window, which is no cost of Wait's.
func BenchmarkWait(b *testing.B) {
	b.Run("allow/hot", func(b *testing.B) { runFairmeshHot(b, newUnlimited(b)) })
	b.Run("wait/hot", func(b *testing.B) {
		n := newUnlimited(b)
		ctx := context.Background()
		if err := n.Wait(ctx, hotID, 1); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := n.Wait(ctx, hotID, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// newUnlimited is a node on the coarse clock with no limit and no capacity.
func newUnlimited(b *testing.B) *fairmesh.Node {
	clk := clock.NewCoarseClock(time.Millisecond)
	b.Cleanup(clk.Stop)
	n, err := fairmesh.NewNode(fairmesh.Config{Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
