package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/httpapi"
)

// scrape reads /metrics with Prometheus's own text parser.
func scrape(t *testing.T, f *fixture) map[string]*dto.MetricFamily {
	t.Helper()
	rec := f.do(t, "GET", "/metrics", "")
	require.Equal(t, http.StatusOK, rec.Code)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	require.NoError(t, err, "the exposition parses")
	return fams
}

// value returns the sample of family name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	fam := fams[name]
	require.NotNil(t, fam, "family %s", name)
	for _, m := range fam.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		ok := true
		for i := 0; i+1 < len(want); i += 2 {
			ok = ok && got[want[i]] == want[i+1]
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("no sample of %s with labels %v", name, want)
	return 0
}

func TestMetricsMoveWithDecisionsAndConfig(t *testing.T) {
	f := newFixture(t, fairmesh.Config{Capacity: 100}, httpapi.Options{})
	before := scrape(t, f)
	assert.Zero(t, value(t, before, "fairmesh_decisions_total", "result", "admitted"))
	assert.Zero(t, value(t, before, "fairmesh_fenced"))
	assert.Equal(t, 1.0, value(t, before, "fairmesh_node_info", "node_id", "n1", "partition_policy", "lease"))

	require.Equal(t, http.StatusOK, f.do(t, "PUT", "/v1/clients/a/limit", `{"rate":3,"period":"1s"}`).Code)
	for range 5 {
		f.do(t, "GET", "/v1/allow/a", "")
	}
	// Decisions are counted when their window ends (the fast path keeps
	// no shared counter): after the next boundary's sweep.
	assert.Zero(t, value(t, scrape(t, f), "fairmesh_decisions_total", "result", "admitted"))
	f.clock.Advance(time.Second)
	f.node.Tick(f.clock.Now())
	after := scrape(t, f)
	assert.Equal(t, 3.0, value(t, after, "fairmesh_decisions_total", "result", "admitted"))
	assert.Equal(t, 2.0, value(t, after, "fairmesh_decisions_total", "result", "denied"))
	assert.Equal(t, 1.0, value(t, after, "fairmesh_config_updates_total", "origin", "local"))
	assert.Zero(t, value(t, after, "fairmesh_config_updates_total", "origin", "remote"))
	assert.Equal(t, 1.0, value(t, after, "fairmesh_tracked_clients"))
	assert.Equal(t, 100.0, value(t, after, "fairmesh_capacity", "period", "1s"))
	assert.Zero(t, value(t, after, "fairmesh_mesh_over_capacity_windows_total"), "the audit's families are there")
	assert.Zero(t, value(t, after, "fairmesh_mesh_audited_windows_total", "result", "incomplete"))
	assert.Equal(t, 3.0, value(t, after, "fairmesh_http_request_duration_seconds", "route", "GET /v1/allow/{client}", "code", "200"))
	assert.Equal(t, 2.0, value(t, after, "fairmesh_http_request_duration_seconds", "route", "GET /v1/allow/{client}", "code", "429"))

	// A refused request is counted under "unmatched", never its raw path.
	f.do(t, "GET", "/v1/no/such/"+strings.Repeat("x", 30), "")
	last := scrape(t, f)
	assert.Equal(t, 1.0, value(t, last, "fairmesh_http_request_duration_seconds", "route", "unmatched", "code", "404"))
	for _, m := range last["fairmesh_http_request_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			assert.NotContains(t, l.GetValue(), "xxx", "no client-chosen label value")
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	// Told to join two members and having reached none: fenced.
	f := newFixture(t, fairmesh.Config{Seeds: 2}, httpapi.Options{})
	assert.Equal(t, http.StatusOK, f.do(t, "GET", "/healthz", "").Code, "the process serves")
	rec := f.do(t, "GET", "/readyz", "")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	h := decode[httpapi.Health](t, rec)
	assert.Equal(t, "not ready", h.Status)
	assert.Contains(t, h.Reason, "has not reached any of the 2 members")
	assert.Equal(t, 1.0, value(t, scrape(t, f), "fairmesh_fenced"))

	// It reaches one; with two members known, it needs nobody's word.
	f.node.SetMember("n2", fairmesh.MemberAlive)
	f.clock.Advance(100 * time.Millisecond)
	f.node.Tick(f.clock.Now())
	rec = f.do(t, "GET", "/readyz", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "ready", decode[httpapi.Health](t, rec).Status)
	members := scrape(t, f)
	assert.Equal(t, 1.0, value(t, members, "fairmesh_members", "state", "alive"))
	assert.Zero(t, value(t, members, "fairmesh_fenced"))
}
