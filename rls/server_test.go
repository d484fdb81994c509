package rls

import (
	"context"
	"testing"
	"time"

	commonv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/clock"
)

func desc(kv ...string) *commonv3.RateLimitDescriptor {
	d := &commonv3.RateLimitDescriptor{}
	for i := 0; i+1 < len(kv); i += 2 {
		d.Entries = append(d.Entries, &commonv3.RateLimitDescriptor_Entry{Key: kv[i], Value: kv[i+1]})
	}
	return d
}

func newServer(t *testing.T) (*Server, *fairmesh.Node) {
	t.Helper()
	// 250 ms into a second.
	clk := clock.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 250_000_000, time.UTC))
	n, err := fairmesh.NewNode(fairmesh.Config{NodeID: "n1", Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := NewRules([]Rule{{Domain: "edge", Keys: []string{"tenant"}}})
	if err != nil {
		t.Fatal(err)
	}
	return New(n, rules), n
}

func TestShouldRateLimitReportsLimitRemainingAndReset(t *testing.T) {
	s, n := newServer(t)
	if err := n.UpdateClientRateLimit("edge/tenant=acme", 20, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	r, err := s.ShouldRateLimit(context.Background(), &rlsv3.RateLimitRequest{Domain: "edge", HitsAddend: 15,
		Descriptors: []*commonv3.RateLimitDescriptor{desc("tenant", "acme")}})
	if err != nil {
		t.Fatal(err)
	}
	st := r.GetStatuses()[0]
	if r.GetOverallCode() != rlsv3.RateLimitResponse_OK || st.GetLimitRemaining() != 5 {
		t.Fatalf("15 of 20: %v, remaining %d", r.GetOverallCode(), st.GetLimitRemaining())
	}
	l := st.GetCurrentLimit()
	if l.GetRequestsPerUnit() != 20 || l.GetUnit() != rlsv3.RateLimitResponse_RateLimit_SECOND || l.GetUnitMultiplier().GetValue() != 10 {
		t.Errorf("current limit %v, want 20 per SECOND × 10", l)
	}
	if d := st.GetDurationUntilReset().AsDuration(); d != 9750*time.Millisecond {
		t.Errorf("reset in %v, want 9.75s", d)
	}
	// Per-descriptor hits override the request's: 6 more is over, and
	// all or nothing.
	d := desc("tenant", "acme")
	d.HitsAddend = wrapperspb.UInt64(6)
	r, err = s.ShouldRateLimit(context.Background(), &rlsv3.RateLimitRequest{Domain: "edge", Descriptors: []*commonv3.RateLimitDescriptor{d}})
	if err != nil {
		t.Fatal(err)
	}
	if r.GetOverallCode() != rlsv3.RateLimitResponse_OVER_LIMIT || header(r, "Retry-After") != "10" || header(r, "RateLimit-Remaining") != "5" {
		t.Errorf("6 of the 5 left: %v, headers %v", r.GetOverallCode(), r.GetResponseHeadersToAdd())
	}
	if st, _ := n.Client("edge/tenant=acme"); st.Admitted != 15 {
		t.Errorf("admitted %d, want 15", st.Admitted)
	}
}

func header(r *rlsv3.RateLimitResponse, name string) string {
	for _, h := range r.GetResponseHeadersToAdd() {
		if h.GetKey() == name {
			return h.GetValue()
		}
	}
	return ""
}

func TestShouldRateLimitRefusesBadRequestsAndCountsNothing(t *testing.T) {
	s, n := newServer(t)
	neg := desc("tenant", "acme")
	neg.IsNegativeHits = true
	override := desc("tenant", "acme")
	override.Limit = &commonv3.RateLimitDescriptor_RateLimitOverride{RequestsPerUnit: 5}
	zero := desc("tenant", "acme")
	zero.HitsAddend = wrapperspb.UInt64(0)
	many := make([]*commonv3.RateLimitDescriptor, maxDescriptors+1)
	for i := range many {
		many[i] = desc("tenant", "acme")
	}
	for name, req := range map[string]*rlsv3.RateLimitRequest{
		"no domain":      {Descriptors: []*commonv3.RateLimitDescriptor{desc("tenant", "acme")}},
		"no descriptors": {Domain: "edge"},
		"no entries":     {Domain: "edge", Descriptors: []*commonv3.RateLimitDescriptor{{}}},
		"empty key":      {Domain: "edge", Descriptors: []*commonv3.RateLimitDescriptor{desc("", "x")}},
		"huge hits":      {Domain: "edge", HitsAddend: fairmesh.MaxRate + 1, Descriptors: []*commonv3.RateLimitDescriptor{desc("tenant", "acme")}},
		"negative hits":  {Domain: "edge", Descriptors: []*commonv3.RateLimitDescriptor{neg}},
		"override":       {Domain: "edge", Descriptors: []*commonv3.RateLimitDescriptor{override}},
		"zero hits":      {Domain: "edge", Descriptors: []*commonv3.RateLimitDescriptor{zero}},
		"too many":       {Domain: "edge", Descriptors: many},
		"bad ID last":    {Domain: "edge", Descriptors: []*commonv3.RateLimitDescriptor{desc("tenant", "acme"), desc("tenant", "x\x00")}},
	} {
		if _, err := s.ShouldRateLimit(context.Background(), req); status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v, want InvalidArgument", name, err)
		}
	}
	if cs := n.Clients(10); len(cs) != 0 {
		t.Errorf("bad requests tracked %d clients", len(cs))
	}
}
