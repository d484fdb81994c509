package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fairmesh/fairmesh"
)

// Options configures the handler. The zero value serves without
// authentication and with the default limits.
type Options struct {
	// AdminToken, when not empty, is required as "Authorization: Bearer
	// <token>" on the endpoints that change configuration (the two PUTs,
	// deleting a client, applying a config file and removing a member; a
	// dry run of an apply too, as it reveals the configuration); other requests answer 401. It is compared in constant time.
	AdminToken string
	// MaxBodyBytes caps a request body; a larger body answers 413.
	// 0 or less: DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxBatch caps the requests in one POST /v1/allow; more answer 400.
	// 0 or less: DefaultMaxBatch. A batch also has to fit in MaxBodyBytes.
	MaxBatch int
	// Members, when set, answers GET /v1/members: every member the
	// membership layer knows, this node included, with addresses (serve
	// sets it to the gossip runtime's view). It is called from the
	// request's goroutine and must be safe for concurrent use and quick.
	// nil: the Node's own view, Status().Members, without addresses.
	Members func() []Member
	// Warnings are reported by GET /v1/status as they are: what the
	// operator should fix (serve puts gossip without encryption here).
	Warnings []string
}

// Defaults for Options.
const (
	// DefaultMaxBodyBytes fits a full batch of DefaultMaxBatch short IDs.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultMaxBatch bounds the work one request can ask of the node.
	DefaultMaxBatch = 1000
	// DefaultListLimit is how many clients GET /v1/clients lists when the
	// request names no limit, and MaxListLimit the most it may ask for.
	DefaultListLimit = 1000
	MaxListLimit     = 100_000
)

type handler struct {
	node      *fairmesh.Node
	tokenHash *[sha256.Size]byte // nil: no authentication
	maxBody   int64
	maxBatch  int
	members   func() []Member
	warnings  []string
	mux       *http.ServeMux
	latency   *prometheus.HistogramVec
}

// New returns the HTTP API of n. Requests are served concurrently; the
// handler holds no state of its own beyond opts.
func New(n *fairmesh.Node, opts Options) http.Handler {
	h := &handler{
		node:     n,
		maxBody:  opts.MaxBodyBytes,
		maxBatch: opts.MaxBatch,
		members:  opts.Members,
		warnings: opts.Warnings,
		mux:      http.NewServeMux(),
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.maxBatch <= 0 {
		h.maxBatch = DefaultMaxBatch
	}
	if opts.AdminToken != "" {
		// Hashing first gives ConstantTimeCompare inputs of equal length,
		// so the comparison does not reveal the token's length either.
		sum := sha256.Sum256([]byte(opts.AdminToken))
		h.tokenHash = &sum
	}
	reg, latency := newMetrics(n)
	h.latency = latency
	h.mux.Handle("GET /metrics", metricsHandler(reg))
	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.Handle("GET /ui/", http.StripPrefix("/ui/", uiFiles()))
	h.mux.Handle("GET /ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
	h.mux.HandleFunc("GET /readyz", h.readyz)
	h.mux.HandleFunc("GET /v1/allow/{client}", h.allowOne)
	h.mux.HandleFunc("POST /v1/allow", h.allowBatch)
	h.mux.HandleFunc("GET /v1/auth", h.auth)
	h.mux.HandleFunc("POST /v1/return/{client}", h.returnOne)
	h.mux.HandleFunc("PUT /v1/clients/{client}/weight", h.admin(h.putWeight))
	h.mux.HandleFunc("PUT /v1/clients/{client}/limit", h.admin(h.putLimit))
	h.mux.HandleFunc("GET /v1/clients/{client}", h.getClient)
	h.mux.HandleFunc("DELETE /v1/clients/{client}", h.admin(h.deleteClient))
	h.mux.HandleFunc("POST /v1/apply", h.admin(h.applyClients))
	h.mux.HandleFunc("GET /v1/clients", h.listClients)
	h.mux.HandleFunc("GET /v1/status", h.getStatus)
	h.mux.HandleFunc("GET /v1/members", h.getMembers)
	h.mux.HandleFunc("DELETE /v1/members/{member}", h.admin(h.removeMember))
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	if strictRequest(rec, r) {
		h.mux.ServeHTTP(rec, r)
	}
	observe(h.latency, r, rec.code, began)
}

// healthz serves GET /healthz: 200 whenever the process serves HTTP (a
// liveness probe: restart the process when it fails).
func (h *handler) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, Health{Status: "ok"})
}

// readyz serves GET /readyz: 200 when the node should be sent traffic,
// 503 with the reason when it should not (fenced, not joined yet, or its
// clock far behind the mesh's): see fairmesh.Node.Ready.
func (h *handler) readyz(w http.ResponseWriter, _ *http.Request) {
	if err := h.node.Ready(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, Health{Status: "not ready", Reason: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, Health{Status: "ready"})
}

// admin wraps a handler that changes configuration with the bearer-token
// check, when a token is configured.
func (h *handler) admin(next http.HandlerFunc) http.HandlerFunc {
	if h.tokenHash == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(sum[:], h.tokenHash[:]) != 1 || !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fairmesh"`)
			writeError(w, http.StatusUnauthorized, "missing or invalid bearer token", "Authorization")
			return
		}
		next(w, r)
	}
}

// bearerToken extracts the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive (RFC 9110, section 11.1).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
