package fairmesh_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
)

// Decide names the window it counted the requests in, as the node's entry
// counted them: a clock that steps back keeps counting in the newer window,
// and the Decision says so rather than naming the window of its clock.
func TestDecideNamesTheWindowItCountedIn(t *testing.T) {
	n, clk := newNode(t, fairmesh.Config{})
	require.NoError(t, n.UpdateClientRateLimit("a", 5, time.Second))

	steps := []struct {
		at   time.Duration // clock reading, from epoch
		want time.Duration // WindowStart, from epoch
	}{
		{1500 * time.Millisecond, time.Second},
		{1999 * time.Millisecond, time.Second},
		{2000 * time.Millisecond, 2 * time.Second},
		{1900 * time.Millisecond, 2 * time.Second}, // stepped back: still the newer window
		{3250 * time.Millisecond, 3 * time.Second},
	}
	for _, s := range steps {
		clk.Set(epoch.Add(s.at))
		d := n.Decide("a", 1)
		require.True(t, d.Allowed, "at %v", s.at)
		require.Equal(t, epoch.Add(s.want), d.WindowStart, "at %v", s.at)
		require.Equal(t, s.want+time.Second, s.at+d.Reset, "the window ends Reset from now, at %v", s.at)
	}
	require.True(t, n.Decide("", 1).WindowStart.IsZero(), "no decision, no window")
}
