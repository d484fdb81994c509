package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/rls"
)

// rlsServer is Envoy's rate limit service on --grpc, with the gRPC health
// service beside it (Envoy's cluster health checks ask it).
type rlsServer struct {
	ln     net.Listener
	srv    *grpc.Server
	health *health.Server
	served chan error
}

// listenRLS checks --grpc and --rls-rules and binds the gRPC address
// (nil, nil when --grpc is not given). Called before the node starts: bad
// rules or a taken port stop serve before it joins anyone.
func listenRLS(addr, rulesFile string) (net.Listener, *rls.Rules, error) {
	switch {
	case addr == "" && rulesFile == "":
		return nil, nil, nil
	case addr == "":
		return nil, nil, errors.New("--rls-rules is only read with --grpc ADDR")
	case rulesFile == "":
		return nil, nil, errors.New("--grpc needs --rls-rules FILE: without rules no descriptor would be limited")
	}
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		return nil, nil, fmt.Errorf("--rls-rules: %w", err)
	}
	rules, err := rls.ParseRules(b)
	if err != nil {
		return nil, nil, fmt.Errorf("--rls-rules %s: %w", rulesFile, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--grpc: %w", err)
	}
	return ln, rules, nil
}

// startRLS serves the rate limit service on ln until stop.
func startRLS(ln net.Listener, rules *rls.Rules, node *fairmesh.Node) *rlsServer {
	s := &rlsServer{ln: ln, srv: grpc.NewServer(), health: health.NewServer(), served: make(chan error, 1)}
	rlsv3.RegisterRateLimitServiceServer(s.srv, rls.New(node, rules))
	healthpb.RegisterHealthServer(s.srv, s.health)
	s.health.SetServingStatus(rlsv3.RateLimitService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	go func() { s.served <- s.srv.Serve(ln) }()
	return s
}

// stop reports NOT_SERVING, lets the calls in flight finish for at most
// timeout, then closes.
func (s *rlsServer) stop(timeout time.Duration, log *slog.Logger) {
	s.health.Shutdown()
	done := make(chan struct{})
	go func() {
		s.srv.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		log.Warn("gRPC calls still in flight at shutdown: closing them")
		s.srv.Stop()
		<-done
	}
	if err := <-s.served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		log.Warn("gRPC server", "err", err)
	}
}
