package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/clock"
	"github.com/fairmesh/fairmesh/httpapi"
)

// t0 is 250 ms into a second, so that a 1s window has 750 ms left.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 250_000_000, time.UTC)

type fixture struct {
	node  *fairmesh.Node
	clock *clock.ManualClock
	h     http.Handler
}

// newFixture builds a real Node on a manual clock reading t0 and its API.
func newFixture(t *testing.T, cfg fairmesh.Config, opts httpapi.Options) *fixture {
	t.Helper()
	clk := clock.NewManualClock(t0)
	cfg.Clock = clk
	if cfg.NodeID == "" {
		cfg.NodeID = "n1"
	}
	n, err := fairmesh.NewNode(cfg)
	require.NoError(t, err)
	return &fixture{node: n, clock: clk, h: httpapi.New(n, opts)}
}

// do sends one request; header is a list of name, value pairs.
func (f *fixture) do(t *testing.T, method, path, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

// decode parses a JSON answer into T, refusing fields T does not know.
func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"), "body: %s", rec.Body)
	var v T
	dec := json.NewDecoder(strings.NewReader(rec.Body.String()))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&v), "body: %s", rec.Body)
	return v
}

// requireError checks a refusal: its status and the field it names.
func requireError(t *testing.T, rec *httptest.ResponseRecorder, status int, field string) httpapi.Error {
	t.Helper()
	require.Equal(t, status, rec.Code, "body: %s", rec.Body)
	e := decode[httpapi.Error](t, rec)
	require.Equal(t, field, e.Field, "error: %q", e.Error)
	require.NotEmpty(t, e.Error)
	return e
}

func (f *fixture) client(t *testing.T, id string) fairmesh.ClientStatus {
	t.Helper()
	cs, err := f.node.Client(id)
	require.NoError(t, err)
	return cs
}
