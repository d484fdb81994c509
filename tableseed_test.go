package fairmesh_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
)

// The table seed moves clients around the node's table and nothing else:
// the same requests in the same order get the same answers under any seed,
// fair shares, rounding and overflow included.
func TestTableSeedChangesNoDecision(t *testing.T) {
	run := func(seed uint64) []bool {
		n, clk := newNode(t, fairmesh.Config{Capacity: 997, MaxClients: 40, TableSeed: seed})
		ids := make([]string, 60) // 20 past MaxClients: the overflow bucket
		for i := range ids {
			ids[i] = fmt.Sprintf("client-%d", i)
			if i%3 == 0 {
				require.NoError(t, n.UpdateClientWeight(ids[i], i%7))
			}
		}
		var answers []bool
		for ms := range 3000 {
			for i, id := range ids {
				if (ms+i)%(1+i%5) == 0 {
					answers = append(answers, n.Allow(id))
				}
			}
			clk.Advance(time.Millisecond)
		}
		return answers
	}
	want := run(0)
	denied := 0
	for _, ok := range want {
		if !ok {
			denied++
		}
	}
	require.NotZero(t, denied, "the scenario must saturate the capacity to mean anything")
	for _, seed := range []uint64{1, 0xfeedface, 1 << 63} {
		require.Equal(t, want, run(seed), "seed %#x", seed)
	}
}
