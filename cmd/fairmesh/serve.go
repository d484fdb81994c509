package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/clock"
	"github.com/fairmesh/fairmesh/httpapi"
)

// Timeouts of the HTTP server. Answers are small and computed in
// microseconds, so anything slow is a stuck or hostile client.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// shutdownTimeout bounds how long serve waits for requests in flight
	// after SIGINT/SIGTERM before closing their connections.
	shutdownTimeout = 10 * time.Second
	// tickInterval is how often serve drives the Node's Tick.
	tickInterval = 100 * time.Millisecond
)

type serveFlags struct {
	addr       string
	adminToken string
	cfg        fairmesh.Config
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a fairmesh node and serve its HTTP API",
		Long: `Run a fairmesh node and serve its HTTP API until SIGINT or SIGTERM.

With no flags it runs a one-node mesh on 127.0.0.1:8080 with no shared
capacity and no default limit: configure clients with "fairmesh limit set"
and "fairmesh weight set", or give defaults here.`,
		Example: `  fairmesh serve
  fairmesh serve --capacity 1000 --default-rate 100 --admin-token "$TOKEN"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.adminToken == "" {
				f.adminToken = os.Getenv("FAIRMESH_ADMIN_TOKEN")
			}
			if f.cfg.NodeID == "" {
				f.cfg.NodeID = defaultNodeID()
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, f, log)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "http", "127.0.0.1:8080", "address to serve the HTTP API on")
	fl.StringVar(&f.adminToken, "admin-token", "", "bearer token required to change configuration (default $FAIRMESH_ADMIN_TOKEN; none: open)")
	fl.StringVar(&f.cfg.NodeID, "node-id", "", "this node's unique, stable name in the mesh (default the host name)")
	fl.IntVar(&f.cfg.Capacity, "capacity", 0, "requests per --capacity-period shared by all clients by weight (0: no shared capacity)")
	fl.DurationVar(&f.cfg.CapacityPeriod, "capacity-period", time.Second, "window of --capacity")
	fl.IntVar(&f.cfg.DefaultRate, "default-rate", 0, "limit of clients not configured, per --default-period (0: none)")
	fl.DurationVar(&f.cfg.DefaultPeriod, "default-period", time.Second, "window of --default-rate")
	fl.IntVar(&f.cfg.DefaultWeight, "default-weight", 1, "weight of clients not configured (at least 1)")
	fl.IntVar(&f.cfg.MinRate, "min-rate", 1, "requests per second a zero-weight client may always make")
	fl.IntVar(&f.cfg.MaxClients, "max-clients", fairmesh.DefaultMaxClients, "bound on tracked clients; past it new clients share one overflow bucket")
	return cmd
}

// checkZeroes refuses the flags whose 0 the Config reads as "use the
// default": on the command line, --min-rate 0 silently meaning 1 would
// surprise. (Capacity and default rate take 0 for "none", as documented.)
func checkZeroes(c fairmesh.Config) error {
	switch {
	case c.DefaultWeight == 0:
		return errors.New("--default-weight must be at least 1 (make scavengers with \"weight set CLIENT 0\")")
	case c.MinRate == 0:
		return errors.New("--min-rate must be at least 1")
	case c.MaxClients == 0:
		return errors.New("--max-clients must be at least 1")
	case c.CapacityPeriod == 0:
		return errors.New("--capacity-period must be positive")
	case c.DefaultPeriod == 0:
		return errors.New("--default-period must be positive")
	}
	return nil
}

func defaultNodeID() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "local"
}

// serve runs a node and its API until ctx is done, then shuts down: it
// stops accepting, lets requests in flight finish (up to shutdownTimeout),
// stops the tick loop and the clock.
func serve(ctx context.Context, f serveFlags, log *slog.Logger) error {
	if err := checkZeroes(f.cfg); err != nil {
		return err
	}
	clk := clock.NewCoarseClock(time.Millisecond)
	defer clk.Stop()
	cfg := f.cfg
	cfg.Clock = clk
	node, err := fairmesh.NewNode(cfg)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           httpapi.New(node, httpapi.Options{AdminToken: f.adminToken}),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	tickCtx, stopTicks := context.WithCancel(context.Background())
	var ticks sync.WaitGroup
	ticks.Go(func() { tickLoop(tickCtx, node) })
	defer func() {
		stopTicks()
		ticks.Wait()
	}()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	log.Info("fairmesh serving", "url", "http://"+ln.Addr().String(), "node_id", cfg.NodeID,
		"capacity", cfg.Capacity, "default_rate", cfg.DefaultRate, "admin_token", f.adminToken != "")
	if f.adminToken == "" && !isLoopback(ln.Addr()) {
		log.Warn("serving on a non-loopback address without --admin-token: anyone who reaches it can change limits")
	}

	select {
	case err := <-served:
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		srv.Close()
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// tickLoop drives the Node's Tick. With a one-node mesh there is nobody to
// send the messages to, so they are dropped; the gossip runtime will
// deliver them.
func tickLoop(ctx context.Context, node *fairmesh.Node) {
	t := time.NewTicker(tickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = node.Tick(time.Now())
		}
	}
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
