package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	commonv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/fairmesh/fairmesh/httpapi"
)

func descriptor(kv ...string) *commonv3.RateLimitDescriptor {
	d := &commonv3.RateLimitDescriptor{}
	for i := 0; i+1 < len(kv); i += 2 {
		d.Entries = append(d.Entries, &commonv3.RateLimitDescriptor_Entry{Key: kv[i], Value: kv[i+1]})
	}
	return d
}

func header(r *rlsv3.RateLimitResponse, name string) string {
	for _, h := range r.GetResponseHeadersToAdd() {
		if strings.EqualFold(h.GetKey(), name) {
			return h.GetValue()
		}
	}
	return ""
}

// Envoy's rate limit service on a 3-process mesh, driven by
// go-control-plane's gRPC client: descriptors map to clients by the rules
// file, limits set with the CLI on one node hold on another, OK and
// OVER_LIMIT carry the limit, what remains and when it resets, a request
// refused as a whole consumes nothing, bad requests are gRPC errors that
// count nothing, and the health service answers.
func TestEnvoyRateLimitServiceOnAMesh(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), procDeadline)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "fairmesh")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	rules := filepath.Join(t.TempDir(), "rls.yaml")
	require.NoError(t, os.WriteFile(rules, []byte("rules:\n  - domain: edge\n    keys: [tenant, path]\n  - domain: edge\n    keys: [tenant]\n"), 0o600))
	httpPorts, gossipPorts, grpcPorts := freePorts(t, 3), freePorts(t, 3), freePorts(t, 3)
	procs := make([]*proc, 3)
	for i := range procs {
		g := "127.0.0.1:" + strconv.Itoa(gossipPorts[i])
		procs[i] = startServe(t, ctx, bin, fmt.Sprintf("rls-%d", i+1),
			"--http", "127.0.0.1:"+strconv.Itoa(httpPorts[i]),
			"--grpc", "127.0.0.1:"+strconv.Itoa(grpcPorts[i]), "--rls-rules", rules,
			"--bind", g, "--advertise", g, "--join", othersOf(gossipPorts, i),
			"--capacity", "1000", "--gossip-interval", "50ms")
	}
	t.Cleanup(func() {
		for _, p := range procs {
			p.stop(t)
		}
	})
	hc := &http.Client{Timeout: 5 * time.Second}
	waitAllAlive(t, ctx, hc, procs)

	// Limits and a weight through the first node, with the CLI.
	const search = "edge/tenant=acme/path=/v1/search"
	for _, args := range [][]string{
		{"limit", "set", search, "5", "1s", "--node", procs[0].url},
		{"limit", "set", "edge/tenant=beta", "3000", "1s", "--node", procs[0].url},
		{"limit", "set", "edge/tenant=blocked", "0", "1s", "--node", procs[0].url},
		{"weight", "set", search, "3", "--node", procs[0].url},
	} {
		c := exec.CommandContext(ctx, bin, args...)
		c.Env = cleanEnv()
		out, err := c.CombinedOutput()
		require.NoError(t, err, "fairmesh %v: %s", args, out)
	}
	node := procs[1]
	clientURL := func(id string) string { return node.url + "/v1/clients/" + url.PathEscape(id) }
	waitFor(t, ctx, 10*time.Second, node, func() (bool, string) {
		var c httpapi.Client
		if err := getJSON(ctx, hc, clientURL(search), &c); err != nil {
			return false, err.Error()
		}
		var b httpapi.Client
		if err := getJSON(ctx, hc, clientURL("edge/tenant=blocked"), &b); err != nil {
			return false, err.Error()
		}
		return c.Config.Rate != nil && *c.Config.Rate == 5 && c.Config.Weight == 3 && b.Config.Rate != nil && *b.Config.Rate == 0,
			fmt.Sprintf("%+v %+v", c.Config, b.Config)
	})

	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(grpcPorts[1]), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	rl := rlsv3.NewRateLimitServiceClient(conn)

	hr, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: rlsv3.RateLimitService_ServiceDesc.ServiceName})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, hr.GetStatus())

	// A descriptor no rule matches is not limited.
	r, err := rl.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "edge", Descriptors: []*commonv3.RateLimitDescriptor{descriptor("user", "x")}})
	require.NoError(t, err)
	assert.Equal(t, rlsv3.RateLimitResponse_OK, r.GetOverallCode())
	assert.Nil(t, r.GetStatuses()[0].GetCurrentLimit())

	// The limited one, 50 requests a second at one node for 3 s: OK while
	// within 5 a second, then OVER_LIMIT, each window within 5 (the
	// mesh moves the client's allowance to where its demand is).
	oks := 0
	okIn := map[time.Time]int{} // by window end
	var over *rlsv3.RateLimitResponse
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		r, err := rl.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "edge",
			Descriptors: []*commonv3.RateLimitDescriptor{descriptor("tenant", "acme", "path", "/v1/search")}})
		require.NoError(t, err)
		st := r.GetStatuses()[0]
		require.NotNil(t, st.GetCurrentLimit())
		assert.EqualValues(t, 5, st.GetCurrentLimit().GetRequestsPerUnit())
		assert.Equal(t, rlsv3.RateLimitResponse_RateLimit_SECOND, st.GetCurrentLimit().GetUnit())
		reset := st.GetDurationUntilReset().AsDuration()
		assert.True(t, reset > 0 && reset <= 2*time.Second, "reset in %v", reset) // a reading just past a boundary may count in the next window
		assert.Equal(t, strconv.Itoa(int(st.GetLimitRemaining())), header(r, "RateLimit-Remaining"))
		if r.GetOverallCode() == rlsv3.RateLimitResponse_OK {
			oks++
			okIn[time.Now().Add(reset).Round(100*time.Millisecond)]++
			continue
		}
		over = r
		assert.Equal(t, rlsv3.RateLimitResponse_OVER_LIMIT, st.GetCode())
		assert.NotEmpty(t, header(r, "Retry-After"))
	}
	assert.GreaterOrEqual(t, oks, 1, "nothing admitted in 3 s")
	for end, n := range okIn {
		assert.LessOrEqual(t, n, 5, "the window ending at %v admitted past the limit of 5", end)
	}
	require.NotNil(t, over, "never over the limit of 5 a second at 50 a second")

	admitted := func(id string) int64 {
		var c httpapi.Client
		require.NoError(t, getJSON(ctx, hc, clientURL(id), &c))
		return c.Admitted
	}
	// Windows of 1 s share their boundaries: ask blocked (rate 0, never
	// admitted) when the window ends, and start the next steps just after,
	// so that beta's count stays in one window while we look.
	freshWindow := func() {
		r, err := rl.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "edge",
			Descriptors: []*commonv3.RateLimitDescriptor{descriptor("tenant", "blocked")}})
		require.NoError(t, err)
		time.Sleep(r.GetStatuses()[0].GetDurationUntilReset().AsDuration() + 30*time.Millisecond)
	}
	// Beta holds no share on this node until its demand is known there:
	// a few windows of requests first.
	for range 30 {
		_, err := rl.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "edge",
			Descriptors: []*commonv3.RateLimitDescriptor{descriptor("tenant", "beta")}})
		require.NoError(t, err)
		time.Sleep(100 * time.Millisecond)
	}

	// Refused as a whole (blocked's rate is 0): beta's hit is given back.
	freshWindow()
	r, err = rl.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "edge", Descriptors: []*commonv3.RateLimitDescriptor{
		descriptor("tenant", "beta"), descriptor("tenant", "blocked")}})
	require.NoError(t, err)
	assert.Equal(t, rlsv3.RateLimitResponse_OVER_LIMIT, r.GetOverallCode())
	assert.Equal(t, rlsv3.RateLimitResponse_OK, r.GetStatuses()[0].GetCode())
	assert.Equal(t, rlsv3.RateLimitResponse_OVER_LIMIT, r.GetStatuses()[1].GetCode())
	assert.EqualValues(t, 0, admitted("edge/tenant=beta"), "a refused request consumed beta's allowance")

	// hits_addend is the cost, all or nothing.
	freshWindow()
	r, err = rl.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "edge", HitsAddend: 7,
		Descriptors: []*commonv3.RateLimitDescriptor{descriptor("tenant", "beta")}})
	require.NoError(t, err)
	assert.Equal(t, rlsv3.RateLimitResponse_OK, r.GetOverallCode())
	assert.EqualValues(t, 7, admitted("edge/tenant=beta"))

	// Bad requests: gRPC errors, nothing counted.
	freshWindow()
	for name, req := range map[string]*rlsv3.RateLimitRequest{
		"no domain":      {Descriptors: []*commonv3.RateLimitDescriptor{descriptor("tenant", "beta")}},
		"no descriptors": {Domain: "edge"},
		"empty entries":  {Domain: "edge", Descriptors: []*commonv3.RateLimitDescriptor{{}}},
		"huge hits":      {Domain: "edge", HitsAddend: 4_000_001, Descriptors: []*commonv3.RateLimitDescriptor{descriptor("tenant", "beta")}},
		"bad ID, second": {Domain: "edge", Descriptors: []*commonv3.RateLimitDescriptor{
			descriptor("tenant", "beta"), descriptor("tenant", "bad\x1b[2J")}},
	} {
		_, err := rl.ShouldRateLimit(ctx, req)
		assert.Equal(t, codes.InvalidArgument, status.Code(err), "%s: %v", name, err)
	}
	assert.Zero(t, admitted("edge/tenant=beta"), "a bad request counted")
}
