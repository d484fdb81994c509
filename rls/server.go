package rls

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/fairmesh/fairmesh"
)

// maxDescriptors bounds the descriptors of one request.
const maxDescriptors = 64

// Server is a RateLimitServiceServer deciding on a fairmesh Node. Safe for
// concurrent use.
type Server struct {
	rlsv3.UnimplementedRateLimitServiceServer
	node  *fairmesh.Node
	rules *Rules
}

// New returns a Server deciding on node the descriptors rules limit.
func New(node *fairmesh.Node, rules *Rules) *Server { return &Server{node: node, rules: rules} }

// planned is one descriptor, checked: its client (limited false: no rule)
// and its hits.
type planned struct {
	id      string
	limited bool
	hits    int
}

// ShouldRateLimit decides a request. Every descriptor is checked before
// any is decided, so a bad request (no domain, no descriptors, an empty
// key, hits over fairmesh.MaxRate, a descriptor that makes an invalid
// client ID, limit overrides or negative hits, which fairmesh does not do)
// is an InvalidArgument error and counts nothing. Each limited descriptor
// is then decided like AllowN (all its hits or none); the request is
// OVER_LIMIT when any is, and then the hits of the others are given back,
// so that a refused request consumes nothing. Headers for Envoy to add:
// RateLimit-Limit, -Remaining and -Reset of the descriptor nearest its
// limit, and Retry-After when over.
func (s *Server) ShouldRateLimit(_ context.Context, req *rlsv3.RateLimitRequest) (*rlsv3.RateLimitResponse, error) {
	plan, err := s.check(req)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	resp := &rlsv3.RateLimitResponse{
		OverallCode: rlsv3.RateLimitResponse_OK,
		Statuses:    make([]*rlsv3.RateLimitResponse_DescriptorStatus, len(plan)),
	}
	decided := make([]fairmesh.Decision, len(plan))
	nearest := -1
	for i, p := range plan {
		st := &rlsv3.RateLimitResponse_DescriptorStatus{Code: rlsv3.RateLimitResponse_OK}
		resp.Statuses[i] = st
		if !p.limited {
			continue
		}
		d := s.node.Decide(p.id, p.hits)
		decided[i] = d
		if !d.Allowed {
			st.Code = rlsv3.RateLimitResponse_OVER_LIMIT
			resp.OverallCode = rlsv3.RateLimitResponse_OVER_LIMIT
		}
		if d.Limit >= 0 {
			st.CurrentLimit = currentLimit(d)
			st.LimitRemaining = uint32(min(max(d.Remaining, 0), int64(^uint32(0))))
			st.DurationUntilReset = durationpb.New(d.Reset)
			if nearest < 0 || closer(d, decided[nearest]) {
				nearest = i
			}
		}
	}
	if resp.OverallCode == rlsv3.RateLimitResponse_OVER_LIMIT {
		for i, p := range plan {
			if p.limited && decided[i].Allowed {
				_ = s.node.Return(p.id, p.hits) // refused as a whole: nothing consumed
			}
		}
	}
	if nearest >= 0 {
		d := decided[nearest]
		resp.ResponseHeadersToAdd = []*corev3.HeaderValue{
			{Key: "RateLimit-Limit", Value: strconv.FormatInt(d.Limit, 10)},
			{Key: "RateLimit-Remaining", Value: strconv.FormatInt(max(d.Remaining, 0), 10)},
			{Key: "RateLimit-Reset", Value: strconv.FormatInt(ceilSeconds(d.Reset), 10)},
		}
		if resp.OverallCode == rlsv3.RateLimitResponse_OVER_LIMIT {
			resp.ResponseHeadersToAdd = append(resp.ResponseHeadersToAdd,
				&corev3.HeaderValue{Key: "Retry-After", Value: strconv.FormatInt(max(ceilSeconds(d.Reset), 1), 10)})
		}
	}
	return resp, nil
}

// closer reports whether a is nearer its limit than b: refused first, then
// the fewest remaining.
func closer(a, b fairmesh.Decision) bool {
	if a.Allowed != b.Allowed {
		return !a.Allowed
	}
	return a.Remaining < b.Remaining
}

// check validates a request and maps its descriptors to clients.
func (s *Server) check(req *rlsv3.RateLimitRequest) ([]planned, error) {
	if req.GetDomain() == "" {
		return nil, fmt.Errorf("rls: domain is empty")
	}
	ds := req.GetDescriptors()
	switch {
	case len(ds) == 0:
		return nil, fmt.Errorf("rls: no descriptors")
	case len(ds) > maxDescriptors:
		return nil, fmt.Errorf("rls: %d descriptors, at most %d", len(ds), maxDescriptors)
	}
	hits := uint64(req.GetHitsAddend())
	if hits == 0 {
		hits = 1 // as Envoy means it
	}
	plan := make([]planned, len(ds))
	for i, d := range ds {
		where := fmt.Sprintf("rls: descriptor %d", i)
		es := d.GetEntries()
		if len(es) == 0 {
			return nil, fmt.Errorf("%s has no entries", where)
		}
		if d.GetLimit() != nil {
			return nil, fmt.Errorf("%s carries a limit override: set the client's limit in fairmesh instead", where)
		}
		if d.GetIsNegativeHits() {
			return nil, fmt.Errorf("%s asks for negative hits, which fairmesh does not take", where)
		}
		h := hits
		if d.GetHitsAddend() != nil {
			h = d.GetHitsAddend().GetValue()
			if h == 0 {
				return nil, fmt.Errorf("%s has hits_addend 0", where)
			}
		}
		if h > fairmesh.MaxRate {
			return nil, fmt.Errorf("%s: hits_addend %d exceeds %d", where, h, fairmesh.MaxRate)
		}
		entries := make([]Entry, len(es))
		for j, e := range es {
			if e.GetKey() == "" {
				return nil, fmt.Errorf("%s: entry %d has an empty key", where, j)
			}
			entries[j] = Entry{Key: e.GetKey(), Value: e.GetValue()}
		}
		id, limited, err := s.rules.ClientID(req.GetDomain(), entries)
		if err != nil {
			return nil, fmt.Errorf("%s makes no valid client ID: %w", where, err)
		}
		plan[i] = planned{id: id, limited: limited, hits: int(h)}
	}
	return plan, nil
}

// currentLimit is the client's allowance in Envoy's terms: requests per
// unit (times a multiplier); a window of no whole number of seconds has
// no unit, and names itself.
func currentLimit(d fairmesh.Decision) *rlsv3.RateLimitResponse_RateLimit {
	l := &rlsv3.RateLimitResponse_RateLimit{RequestsPerUnit: uint32(min(d.Limit, int64(^uint32(0))))}
	for _, u := range []struct {
		d    time.Duration
		unit rlsv3.RateLimitResponse_RateLimit_Unit
	}{
		{24 * time.Hour, rlsv3.RateLimitResponse_RateLimit_DAY},
		{time.Hour, rlsv3.RateLimitResponse_RateLimit_HOUR},
		{time.Minute, rlsv3.RateLimitResponse_RateLimit_MINUTE},
		{time.Second, rlsv3.RateLimitResponse_RateLimit_SECOND},
	} {
		if d.Period > 0 && d.Period%u.d == 0 {
			l.Unit = u.unit
			if m := d.Period / u.d; m > 1 {
				l.UnitMultiplier = wrapperspb.UInt32(uint32(m))
			}
			return l
		}
	}
	l.Name = fmt.Sprintf("%d per %v", d.Limit, d.Period)
	return l
}

// ceilSeconds is d in whole seconds, rounded up.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}
