package bench

import (
	"context"
	"net"
	"testing"

	commonv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/fairmesh/fairmesh/rls"
)

// BenchmarkRLS is a decision through Envoy's rate limit service over
// loopback gRPC (go-control-plane's client, one connection, as Envoy
// keeps one), one descriptor of one hot client. Compare with
// BenchmarkHTTPAllow/loopback of the same run: decisions per second are
// 1e9 / ns per op.
func BenchmarkRLS(b *testing.B) {
	rules, err := rls.NewRules([]rls.Rule{{Domain: "bench", Keys: []string{"client"}}})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	rlsv3.RegisterRateLimitServiceServer(srv, rls.New(newFairmesh(b), rules))
	go srv.Serve(ln)
	b.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	c := rlsv3.NewRateLimitServiceClient(conn)
	req := &rlsv3.RateLimitRequest{Domain: "bench", Descriptors: []*commonv3.RateLimitDescriptor{
		{Entries: []*commonv3.RateLimitDescriptor_Entry{{Key: "client", Value: hotID}}}}}
	b.Run("loopback", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r, err := c.ShouldRateLimit(context.Background(), req)
				if err != nil {
					b.Error(err)
					return
				}
				if r.GetOverallCode() != rlsv3.RateLimitResponse_OK {
					b.Errorf("code %v", r.GetOverallCode())
					return
				}
			}
		})
	})
}
