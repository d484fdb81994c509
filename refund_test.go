package fairmesh_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
)

func admitted(n *fairmesh.Node, id string, tries int) int {
	got := 0
	for range tries {
		if n.Allow(id) {
			got++
		}
	}
	return got
}

func TestReturnGivesBackRightsWithinTheWindow(t *testing.T) {
	n, clk := newNode(t, fairmesh.Config{})
	clk.Advance(420 * time.Millisecond)
	require.NoError(t, n.UpdateClientRateLimit("a", 5, time.Second))
	require.Equal(t, 5, admitted(n, "a", 8))
	require.NoError(t, n.Return("a", 2))
	require.Equal(t, 2, admitted(n, "a", 8), "two returned, two more admitted")
	// More than this node admitted in the window cannot be returned: no
	// rights are minted.
	require.NoError(t, n.Return("a", 50))
	require.Equal(t, 5, admitted(n, "a", 8))
	// What was admitted in an earlier window stays counted there.
	clk.Advance(time.Second)
	require.NoError(t, n.Return("a", 3))
	require.Equal(t, 5, admitted(n, "a", 8))
	require.Equal(t, uint64(2+5), n.Status().Counters.Returned)
}

// A returned request gives its capacity back too: another client can use
// it in the same window, and the capacity is never exceeded.
func TestReturnGivesBackCapacity(t *testing.T) {
	n, clk := newNode(t, fairmesh.Config{Capacity: 10})
	clk.Advance(130 * time.Millisecond)
	require.Equal(t, 10, admitted(n, "a", 20))
	require.Equal(t, 0, admitted(n, "b", 5), "capacity spent")
	require.NoError(t, n.Return("a", 4))
	require.Equal(t, 4, admitted(n, "b", 10), "the four returned units, no more")
	require.Equal(t, 0, admitted(n, "a", 5))
}

// A client with a quota per minute takes its capacity in the seconds it is
// admitted in. Returning those requests a few seconds later gives back its
// quota, not capacity in the second it returns them: that second is not
// admitted past the capacity.
func TestReturnOfAQuotaGivesNoCapacityToALaterWindow(t *testing.T) {
	n, clk := newNode(t, fairmesh.Config{Capacity: 10})
	require.NoError(t, n.UpdateClientRateLimit("quota", 100, time.Minute))
	clk.Advance(130 * time.Millisecond)
	require.Equal(t, 10, admitted(n, "quota", 20))
	clk.Advance(3 * time.Second)
	require.Equal(t, 10, admitted(n, "other", 20), "a later second: its own capacity")
	require.NoError(t, n.Return("quota", 6))
	require.Equal(t, 0, admitted(n, "other", 10), "the second's capacity is spent whatever was returned")
	// The next second has its capacity, and no more.
	clk.Advance(time.Second)
	got := 0
	for range 20 {
		got += admitted(n, "quota", 1) + admitted(n, "other", 1)
		clk.Advance(40 * time.Millisecond)
	}
	require.Equal(t, 10, got, "the next second")
}

func TestReturnRefusesBadInputAndUnknownClients(t *testing.T) {
	n, _ := newNode(t, fairmesh.Config{})
	require.ErrorIs(t, n.Return("nobody", 1), fairmesh.ErrNotTracked)
	require.Error(t, n.Return("", 1))
	require.Error(t, n.Return("a", 0))
	require.Error(t, n.Return("a", fairmesh.MaxRate+1))
	require.True(t, n.Allow("a"))
	require.Error(t, n.Return("a", -3))
	require.Equal(t, uint64(0), n.Status().Counters.Returned)
}
