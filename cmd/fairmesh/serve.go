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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/gossip"
	"github.com/fairmesh/fairmesh/httpapi"
)

// Timeouts of the HTTP server. Answers are small and computed in
// microseconds, so anything slow is a stuck or hostile client.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = httpapi.MaxWait + 10*time.Second // a request may wait
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// shutdownTimeout bounds how long serve waits for requests in flight
	// after SIGINT/SIGTERM before closing their connections.
	shutdownTimeout = 10 * time.Second
)

type serveFlags struct {
	addr       string
	grpcAddr   string
	rlsRules   string
	adminToken string
	dataDir    string
	cfg        fairmesh.Config
	mesh       meshFlags
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a fairmesh node and serve its HTTP API",
		Long: `Run a fairmesh node, a member of a mesh, and serve its HTTP API until
SIGINT or SIGTERM (then it finishes the requests in flight and leaves the
mesh gracefully).

With no flags it runs a one-node mesh, its HTTP API on 127.0.0.1:8080 and
gossip on 127.0.0.1:7946, with no shared capacity and no default limit:
configure clients with "fairmesh limit set" and "fairmesh weight set", or
give defaults here.

To form a mesh, start every node with --join listing the others (host:port
of their --bind or --advertise), the same --capacity and the same gossip
key; each node retries the join in the background until one answers.
Gossip then listens on 0.0.0.0:7946 and advertises the host's only IPv4
address (set --advertise when it has several). Gossip off loopback needs a
key (--gossip-key-file or $FAIRMESH_GOSSIP_KEY), or --insecure-gossip.

Weights and limits set through the API, here or anywhere in the mesh, are
saved in --data-dir and loaded at the next start, so that they survive
every node stopping at once. A config file that cannot be read stops serve
with an error naming it: fix or remove the file.`,
		Example: `  fairmesh serve
  fairmesh serve --capacity 1000 --default-rate 100 --admin-token "$TOKEN"
  FAIRMESH_GOSSIP_KEY=$(cat mesh.key) fairmesh serve --node-id a --capacity 1000 \
      --advertise 10.0.0.1:7946 --join 10.0.0.2:7946,10.0.0.3:7946`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.adminToken == "" {
				f.adminToken = os.Getenv("FAIRMESH_ADMIN_TOKEN")
			}
			if f.cfg.NodeID == "" {
				f.cfg.NodeID = defaultNodeID()
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			if f.dataDir == "" && !cmd.Flags().Changed("data-dir") {
				log.Warn("neither $XDG_STATE_HOME nor $HOME is set: weights and limits will not survive a restart (set --data-dir)")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, f, log)
		},
	}
	d := gossip.DefaultConfig()
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "http", "127.0.0.1:8080", "address to serve the HTTP API on")
	fl.StringVar(&f.grpcAddr, "grpc", "", "address to serve Envoy's rate limit service (gRPC) on, with the gRPC health service; needs --rls-rules (default: off)")
	fl.StringVar(&f.rlsRules, "rls-rules", "", "file of the rules mapping Envoy's descriptors to clients (YAML; see the README)")
	fl.StringVar(&f.dataDir, "data-dir", defaultDataDir(os.Geteuid(), os.Getenv), "directory keeping the clients' weights and limits across restarts, created if missing (\"\": keep nothing)")
	fl.StringVar(&f.adminToken, "admin-token", "", "bearer token required to change configuration (default $FAIRMESH_ADMIN_TOKEN; none: open)")
	fl.StringVar(&f.cfg.NodeID, "node-id", "", "this node's unique, stable name in the mesh (default the host name)")
	fl.IntVar(&f.cfg.Capacity, "capacity", 0, "requests per --capacity-period shared by all clients by weight, mesh-wide (0: no shared capacity)")
	fl.DurationVar(&f.cfg.CapacityPeriod, "capacity-period", time.Second, "window of --capacity")
	fl.IntVar(&f.cfg.DefaultRate, "default-rate", 0, "limit of clients not configured, per --default-period (0: none)")
	fl.DurationVar(&f.cfg.DefaultPeriod, "default-period", time.Second, "window of --default-rate")
	fl.IntVar(&f.cfg.DefaultWeight, "default-weight", 1, "weight of clients not configured (at least 1)")
	fl.IntVar(&f.cfg.MinRate, "min-rate", 1, "requests per second a zero-weight client may always make")
	fl.IntVar(&f.cfg.MaxClients, "max-clients", fairmesh.DefaultMaxClients, "bound on tracked clients; past it new clients share one overflow bucket")

	fl.StringVar(&f.mesh.bind, "bind", "", "IP:PORT to gossip on, UDP and TCP (default "+defaultBind+", or "+defaultJoinBind+" with --join; port 0: any free port); a non-loopback address needs a gossip key or --insecure-gossip")
	fl.StringVar(&f.mesh.advertise, "advertise", "", "HOST:PORT the other members dial to reach this one (default the --bind address; with 0.0.0.0, the host's only IPv4 address, and serve refuses to start when it has several)")
	fl.BoolVar(&f.mesh.insecureGossip, "insecure-gossip", false, "allow unencrypted gossip on a non-loopback address: anyone who reaches it can join the mesh and change weights and limits")
	fl.StringSliceVar(&f.mesh.join, "join", nil, "HOST:PORT of every other known member, comma-separated or repeated; joined in the background, retrying")
	fl.StringVar(&f.mesh.gossipKey, "gossip-key", "", "base64 of a 16, 24 or 32-byte key encrypting gossip; members without it cannot join (prefer --gossip-key-file or $"+gossipKeyEnv+": arguments are visible in ps)")
	fl.StringVar(&f.mesh.gossipKeyFile, "gossip-key-file", "", "file holding the base64 gossip key")
	fl.DurationVar(&f.mesh.gossipInterval, "gossip-interval", d.GossipInterval, "how often the node exchanges demand and config with the others; shorter follows demand sooner at more packets per second")
	fl.DurationVar(&f.mesh.quietInterval, "quiet-interval", d.QuietInterval, "the pace of a node with no traffic and nothing to tell for 3 s (at most a quarter of --lease; 0: never quiet): it gossips this often instead of every --gossip-interval, and wakes at once on a request, a config change or news from a member")
	fl.DurationVar(&f.mesh.pushPullInterval, "push-pull-interval", d.PushPullInterval, "how often the node exchanges full state with one random member over TCP, repairing lost gossip")
	fl.StringVar(&f.mesh.partition, "partition-policy", string(fairmesh.Lease), "what a node does about members it cannot reach: lease (never over-admits: a minority serves its shares for --lease then refuses, a majority reclaims the others' after it) or available (reclaims at suspicion: k sides may admit up to k times the capacity)")
	fl.DurationVar(&f.mesh.lease, "lease", 10*time.Second, "how long a node cut off from the mesh keeps serving its shares, and how long (plus the clock guard) a majority waits before reclaiming them; keep it at least the dead timeout")
	return cmd
}

// checkServeFlags checks the limiter's flags as the user typed them, so
// that an error names the flag (--capacity, not the Config field), and
// refuses the flags whose 0 the Config reads as "use the default": on the
// command line, --min-rate 0 silently meaning 1 would surprise. (Capacity
// and default rate take 0 for "none", as documented.)
func checkServeFlags(c fairmesh.Config) error {
	periodOK := func(d time.Duration) bool { return d >= fairmesh.MinPeriod && d <= fairmesh.MaxPeriod }
	switch {
	case c.Capacity < 0 || c.Capacity > fairmesh.MaxRate:
		return fmt.Errorf("--capacity must be in [0, %d] (0: no shared capacity), not %d", fairmesh.MaxRate, c.Capacity)
	case !periodOK(c.CapacityPeriod):
		return fmt.Errorf("--capacity-period must be in [%v, %v], not %v", fairmesh.MinPeriod, fairmesh.MaxPeriod, c.CapacityPeriod)
	case c.DefaultRate < 0 || c.DefaultRate > fairmesh.MaxRate:
		return fmt.Errorf("--default-rate must be in [0, %d] (0: no default limit), not %d", fairmesh.MaxRate, c.DefaultRate)
	case !periodOK(c.DefaultPeriod):
		return fmt.Errorf("--default-period must be in [%v, %v], not %v", fairmesh.MinPeriod, fairmesh.MaxPeriod, c.DefaultPeriod)
	case c.DefaultWeight < 1 || c.DefaultWeight > fairmesh.MaxWeight:
		return fmt.Errorf("--default-weight must be in [1, %d], not %d (make scavengers with \"weight set CLIENT 0\")", fairmesh.MaxWeight, c.DefaultWeight)
	case c.MinRate < 1 || c.MinRate > fairmesh.MaxRate:
		return fmt.Errorf("--min-rate must be in [1, %d], not %d", fairmesh.MaxRate, c.MinRate)
	case c.MaxClients < 1:
		return fmt.Errorf("--max-clients must be at least 1, not %d", c.MaxClients)
	}
	if err := fairmesh.ValidateClientID(c.NodeID); err != nil {
		return fmt.Errorf("--node-id %q: %s", c.NodeID, strings.Replace(strings.TrimPrefix(err.Error(), "fairmesh: "), "client ID", "a node ID", 1))
	}
	return nil
}

func defaultNodeID() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "local"
}

// serve runs a mesh member and its API until ctx is done, then shuts down:
// it stops accepting, lets requests in flight finish (up to
// shutdownTimeout), then leaves the mesh and stops the runtime.
func serve(ctx context.Context, f serveFlags, log *slog.Logger) error {
	if err := checkServeFlags(f.cfg); err != nil {
		return err
	}
	cfg, warnings, err := meshConfig(ctx, f.mesh, f.cfg)
	if err != nil {
		return err
	}
	cfg.Logger = log

	// The config file before anything binds: a bad one stops serve here.
	var dd *dataDir
	var loaded []fairmesh.ConfigRegister
	if f.dataDir != "" {
		if dd, err = openDataDir(f.dataDir); err != nil {
			return err
		}
		defer dd.Close() // after the final save: deferred first
		if loaded, err = dd.load(); err != nil {
			return err
		}
	}

	// HTTP and gRPC first: a taken port fails before the node joins anyone.
	grpcLn, rules, err := listenRLS(f.grpcAddr, f.rlsRules)
	if err != nil {
		return err
	}
	if grpcLn != nil {
		defer grpcLn.Close() // on the error paths
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	joinCtx, stopJoin := context.WithCancel(ctx)
	defer stopJoin()
	mesh, err := gossip.New(joinCtx, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer mesh.Close() // on the error paths; Close is idempotent

	stopSaving := func() error { return nil }
	if dd != nil {
		// Before HTTP serves: no request is decided without the saved
		// config. What the mesh sent meanwhile merges by stamp all the same.
		if err := mesh.Node().MergeConfigRegisters(loaded); err != nil {
			ln.Close()
			return fmt.Errorf("%s: %w (fix or remove the file)", dd.path, err)
		}
		log.Info("config loaded", "file", dd.path, "registers", len(loaded))
		stop, saved := make(chan struct{}), make(chan error, 1)
		// From version 0: the first save also writes back what was loaded,
		// with whatever the mesh merged before the load.
		go func() { saved <- dd.keep(stop, mesh.Node(), 0, saveInterval, log) }()
		stopSaving = sync.OnceValue(func() error {
			close(stop)
			return <-saved
		})
		defer stopSaving()
	}

	srv := &http.Server{
		Handler: httpapi.New(mesh.Node(), httpapi.Options{
			AdminToken: f.adminToken,
			Members:    membersOf(mesh),
			Warnings:   warnings,
		}),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var grpcServed chan error
	stopGRPC := func() {}
	if grpcLn != nil {
		rs := startRLS(grpcLn, rules, mesh.Node())
		grpcServed = rs.served
		stopGRPC = sync.OnceFunc(func() { rs.stop(shutdownTimeout, log) })
		defer stopGRPC() // on the error paths
		log.Info("serving Envoy's rate limit service", "grpc", grpcLn.Addr().String(), "rules", f.rlsRules)
	}

	log.Info("fairmesh serving", "url", "http://"+ln.Addr().String(), "node_id", cfg.NodeID,
		"gossip", mesh.Addr(), "join", strings.Join(cfg.Join, ","), "encrypted", len(cfg.SecretKey) > 0,
		"capacity", cfg.Node.Capacity, "default_rate", cfg.Node.DefaultRate, "admin_token", f.adminToken != "",
		"data_dir", f.dataDir)
	if f.adminToken == "" && !isLoopback(ln.Addr()) {
		log.Warn("serving on a non-loopback address without --admin-token: anyone who reaches it can change limits")
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	var joinLog sync.WaitGroup
	joinLog.Go(func() {
		switch err := mesh.WaitJoined(joinCtx); {
		case err == nil && len(cfg.Join) > 0:
			log.Info("joined the mesh", "members", len(mesh.Members()))
		case errors.Is(err, gossip.ErrNotJoined) && joinCtx.Err() == nil:
			log.Warn("could not join any peer; serving alone until one joins this node", "err", err)
		}
	})
	defer joinLog.Wait()
	defer stopJoin() // runs before joinLog.Wait

	var serveErr error
	select {
	case err := <-served:
		serveErr = fmt.Errorf("serving HTTP: %w", err)
	case err := <-grpcServed:
		grpcServed <- err // for the deferred stop
		serveErr = fmt.Errorf("serving gRPC: %w", err)
	case <-ctx.Done():
		log.Info("shutting down")
		shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(shutCtx); err != nil {
			srv.Close()
			serveErr = fmt.Errorf("shutting down: %w", err)
		} else if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			serveErr = err
		}
	}
	// HTTP and gRPC first, then the mesh: no request is decided by a node
	// that has already left (its slices would be reclaimed by the others).
	stopGRPC()
	if err := mesh.Close(); err != nil {
		log.Warn("leaving the mesh", "err", err)
	}
	// Last: the final save holds everything the node learnt.
	if err := stopSaving(); err != nil {
		serveErr = errors.Join(serveErr, err)
	}
	if serveErr != nil {
		return serveErr
	}
	log.Info("stopped")
	return nil
}

// membersOf answers GET /v1/members from the runtime: the members
// memberlist lists (alive or suspect, with addresses), then those the Node
// still remembers as dead or left.
func membersOf(m *gossip.Mesh) func() []httpapi.Member {
	return func() []httpapi.Member {
		live := m.Members()
		out := make([]httpapi.Member, 0, len(live))
		listed := make(map[string]bool, len(live))
		for _, mi := range live {
			out = append(out, httpapi.Member{ID: mi.ID, Addr: mi.Addr, State: mi.State.String()})
			listed[mi.ID] = true
		}
		for _, mem := range m.Status().Members {
			if !listed[mem.ID] {
				out = append(out, httpapi.Member{ID: mem.ID, State: mem.State.String()})
			}
		}
		return out
	}
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
