package gossip

import (
	"bytes"
	"context"
	"log/slog"
	"sync/atomic"
)

// logWriter turns memberlist's level-less log lines ("[WARN] memberlist: …")
// into slog records, dropping [DEBUG] lines, which memberlist emits for
// every join attempt and stream. memberlist calls Write from any of its
// goroutines, one whole line per call; slog handlers are safe for that.
//
// Once the Mesh is closing (closing set), memberlist's goroutines that
// still send on the sockets Shutdown closed report "use of closed network
// connection" as errors: those are the shutdown itself, logged at debug
// level, so that a clean stop logs no error.
type logWriter struct {
	log     *slog.Logger
	closing *atomic.Bool
}

func (w logWriter) Write(p []byte) (int, error) {
	for line := range bytes.Lines(p) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		level := slog.LevelInfo
		for _, l := range []struct {
			tag   string
			level slog.Level
		}{{"[DEBUG]", slog.LevelDebug - 4}, {"[INFO]", slog.LevelInfo}, {"[WARN]", slog.LevelWarn}, {"[ERR]", slog.LevelError}, {"[ERROR]", slog.LevelError}} {
			if rest, ok := bytes.CutPrefix(line, []byte(l.tag)); ok {
				level, line = l.level, bytes.TrimSpace(rest)
				break
			}
		}
		if level < slog.LevelDebug {
			continue // memberlist's [DEBUG]: too chatty even for debug logs
		}
		if w.closing != nil && w.closing.Load() && bytes.Contains(line, []byte("use of closed network connection")) {
			level = slog.LevelDebug
		}
		w.log.Log(context.Background(), level, string(line))
	}
	return len(p), nil
}
