package fairmesh

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh/clock"
)

// Config from a peer is logged on the node that applies it (who sent it,
// which client, what), once per change, and a storm is cut to auditBurst
// lines a second with the rest counted.
func TestConfigFromAPeerIsLogged(t *testing.T) {
	clk := clock.NewManualClock(time.Unix(1_800_000_000, 0))
	var buf bytes.Buffer
	a, err := NewNode(Config{NodeID: "a", Clock: clk})
	require.NoError(t, err)
	b, err := NewNode(Config{NodeID: "b", Clock: clk, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	require.NoError(t, err)
	a.SetMember("b", MemberAlive)
	b.SetMember("a", MemberAlive)
	exchange := func() {
		for range 3 {
			clk.Advance(100 * time.Millisecond)
			for _, m := range a.Tick(clk.Now()) {
				require.NoError(t, b.Receive("a", m.Payload))
			}
			for _, m := range b.Tick(clk.Now()) {
				require.NoError(t, a.Receive("b", m.Payload))
			}
		}
	}
	require.NoError(t, a.UpdateClientWeight("gold", 7))
	require.NoError(t, a.UpdateClientRateLimit("gold", 40, time.Minute))
	exchange()
	exchange() // resends change nothing: not logged again
	out := buf.String()
	assert.Equal(t, 2, strings.Count(out, "config from a peer applied"), out)
	assert.Contains(t, out, "from=a client=gold register=weight weight=7 written_by=a")
	assert.Contains(t, out, "from=a client=gold register=limit rate=40 period=1m0s written_by=a")

	require.NoError(t, a.DeleteClient("gold"))
	buf.Reset()
	exchange()
	assert.Contains(t, buf.String(), "client=gold register=weight value=deleted")

	// A storm: 3×auditBurst changes within a second.
	clk.Advance(2 * time.Second)
	buf.Reset()
	for i := range 3 * auditBurst {
		require.NoError(t, a.UpdateClientWeight("c"+strings.Repeat("x", i), 2))
	}
	exchange()
	assert.Equal(t, auditBurst, strings.Count(buf.String(), "config from a peer applied"))
	clk.Advance(2 * time.Second)
	buf.Reset()
	require.NoError(t, a.UpdateClientWeight("late", 3))
	exchange()
	assert.Contains(t, buf.String(), "not_logged_before=40")
}
