package gossip

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fairmesh/fairmesh"
)

// lockedBuffer is a log sink safe for the mesh's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A member that stops cleanly leaves: its peer logs "member left" once,
// never a death (memberlist can report the member gone before its leave
// notice arrives), and nothing at WARN or ERROR.
func TestACleanStopReadsAsALeaveInThePeersLog(t *testing.T) {
	var logs [2]*lockedBuffer
	var meshes [2]*Mesh
	for i := range 2 {
		logs[i] = &lockedBuffer{}
		cfg := DefaultConfig()
		cfg.NodeID = []string{"a", "b"}[i]
		cfg.BindAddr, cfg.BindPort = "127.0.0.1", 0
		cfg.Node = fairmesh.Config{Capacity: 100}
		cfg.Logger = slog.New(slog.NewTextHandler(logs[i], nil))
		if i == 1 {
			cfg.Join = []string{meshes[0].Addr()}
		}
		m, err := New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		meshes[i] = m
	}
	defer meshes[0].Close()
	// Both must know each other: a node closed while its own join is
	// still under way has nobody to say goodbye to.
	poll(t, 10*time.Second, "a and b see each other alive", func() bool {
		return strings.Contains(logs[0].String(), `msg="member joined" node=a member=b`) &&
			strings.Contains(logs[1].String(), `msg="member joined" node=b member=a`)
	})
	if err := meshes[1].Close(); err != nil {
		t.Fatal(err)
	}
	poll(t, 10*time.Second, "a logs b's leave", func() bool {
		return strings.Contains(logs[0].String(), `msg="member left" node=a member=b`)
	})
	time.Sleep(deathLogDelay + 500*time.Millisecond) // past when a death would be logged
	for i, l := range logs {
		out := l.String()
		if strings.Contains(out, "level=WARN") || strings.Contains(out, "level=ERROR") {
			t.Errorf("node %d logged a warning or an error around a clean stop:\n%s", i, out)
		}
	}
	if n := strings.Count(logs[0].String(), "member left"); n != 1 {
		t.Errorf("the leave was logged %d times:\n%s", n, logs[0].String())
	}
}
