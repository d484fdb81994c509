package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fairmesh/fairmesh"
)

// nodeCollector exports a Node's counters and state to Prometheus. It reads
// Node.Status once per scrape: the node keeps its counters anyway, so the
// decision path pays nothing for metrics, and there is no per-client label
// (a mesh tracks up to a million clients; a label each would be a million
// series).
type nodeCollector struct {
	node *fairmesh.Node

	decisions, overflowed, returned, configUpdates  *prometheus.Desc
	messages, bytes, receiveErrors, collisions      *prometheus.Desc
	rights, released, evicted, members, tracked     *prometheus.Desc
	maxClients, fenced, clockOffset, capacity, info *prometheus.Desc
	auditWindows, auditOver, auditOverRequests      *prometheus.Desc
	auditLast, waiting                              *prometheus.Desc
}

func newNodeCollector(n *fairmesh.Node) *nodeCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("fairmesh_"+name, help, labels, nil)
	}
	return &nodeCollector{
		node:              n,
		decisions:         d("decisions_total", "Requests decided by this node, by result (admitted, denied).", "result"),
		overflowed:        d("overflow_requests_total", "Requests decided in the shared overflow bucket (clients past --max-clients or with a colliding ID)."),
		returned:          d("returned_requests_total", "Admitted requests given back by POST /v1/return."),
		configUpdates:     d("config_updates_total", "Config registers (weights, limits, deletions) changed on this node, by origin: local (written through this node) or remote (from a peer or the data directory).", "origin"),
		messages:          d("gossip_messages_total", "Gossip payloads sent (out) and received (in) by the limiter.", "direction"),
		bytes:             d("gossip_bytes_total", "Gossip payload bytes sent (out) and received (in) by the limiter.", "direction"),
		receiveErrors:     d("receive_errors_total", "Gossip payloads or entries refused, by kind: malformed (undecodable, unknown version, oversized, bad sender), over_limit (entries past --max-clients or with a colliding ID), clock_ahead (stamps further ahead than the clock guard).", "kind"),
		collisions:        d("id_collisions_total", "Client IDs refused or sent to the overflow bucket because another ID with the same 64-bit hash is known."),
		rights:            d("rights_transferred_total", "Limit rights moved between members within a window, by direction (lent, borrowed).", "direction"),
		released:          d("reservations_released_total", "Reserved capacity moved to the pool because its client fell silent within the window."),
		evicted:           d("evicted_clients_total", "Idle clients evicted from the table."),
		members:           d("members", "Mesh members this node knows, itself excluded, by state (alive, suspect, dead, left).", "state"),
		tracked:           d("tracked_clients", "Clients this node tracks."),
		maxClients:        d("max_clients", "The bound on tracked clients (--max-clients)."),
		fenced:            d("fenced", "1 while this node admits nothing because its lease ran out (or it has not reached any member it was told to join), else 0."),
		clockOffset:       d("clock_offset_seconds", "How far this node's mesh time is ahead of its own clock: the lead it adopted from its peers."),
		capacity:          d("capacity", "The shared capacity in requests per capacity period (0: none).", "period"),
		info:              d("node_info", "Always 1; the labels name the node and its partition policy.", "node_id", "partition_policy"),
		auditWindows:      d("mesh_audited_windows_total", "Capacity windows whose admissions this node added up over the whole mesh, by result: complete (every member's count arrived) or incomplete (one never did: a crash, a long cut).", "result"),
		auditOver:         d("mesh_over_capacity_windows_total", "Audited capacity windows in which the mesh, all nodes together, admitted more than the capacity."),
		auditOverRequests: d("mesh_over_capacity_requests_total", "The requests the mesh admitted beyond the capacity, summed over the audited windows."),
		auditLast:         d("mesh_last_audited_admitted", "What the mesh admitted in the last audited capacity window, all nodes together."),
		waiting:           d("waiting_requests", "Requests waiting on this node to be admitted (?wait=, Node.Wait)."),
	}
}

func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.node.Status()
	k := s.Counters
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter(c.decisions, k.Admitted, "admitted")
	gauge(c.waiting, float64(c.node.Waiting()))
	counter(c.decisions, k.Denied, "denied")
	counter(c.overflowed, k.Overflowed)
	counter(c.returned, k.Returned)
	counter(c.configUpdates, k.ConfigUpdatesLocal, "local")
	counter(c.configUpdates, k.ConfigUpdatesRemote, "remote")
	counter(c.messages, k.MessagesSent, "out")
	counter(c.messages, k.MessagesReceived, "in")
	counter(c.bytes, k.BytesSent, "out")
	counter(c.bytes, k.BytesReceived, "in")
	counter(c.receiveErrors, k.DroppedMessages, "malformed")
	counter(c.receiveErrors, k.DroppedReports, "over_limit")
	counter(c.receiveErrors, k.ClockOffsetRejects, "clock_ahead")
	counter(c.collisions, k.Collisions)
	counter(c.rights, k.RightsLent, "lent")
	counter(c.rights, k.RightsBorrowed, "borrowed")
	counter(c.released, k.ReservationsReleased)
	counter(c.evicted, k.Evicted)
	byState := map[fairmesh.MemberState]int{}
	for _, m := range s.Members {
		byState[m.State]++
	}
	for _, st := range []fairmesh.MemberState{fairmesh.MemberAlive, fairmesh.MemberSuspect, fairmesh.MemberDead, fairmesh.MemberLeft} {
		gauge(c.members, float64(byState[st]), st.String())
	}
	gauge(c.tracked, float64(s.TrackedClients))
	gauge(c.maxClients, float64(s.MaxClients))
	fenced := 0.0
	if s.Fenced {
		fenced = 1
	}
	gauge(c.fenced, fenced)
	gauge(c.clockOffset, s.ClockOffset.Seconds())
	gauge(c.capacity, float64(s.Capacity), s.CapacityPeriod.String())
	gauge(c.info, 1, s.NodeID, string(s.Partition))
	counter(c.auditWindows, k.Audit.Windows, "complete")
	counter(c.auditWindows, k.Audit.Incomplete, "incomplete")
	counter(c.auditOver, k.Audit.OverWindows)
	counter(c.auditOverRequests, k.Audit.OverRequests)
	gauge(c.auditLast, float64(k.Audit.LastAdmitted))
}

// newMetrics returns the registry /metrics serves: the node's collector,
// the HTTP latency histogram, and the Go runtime's and process's own.
func newMetrics(n *fairmesh.Node) (*prometheus.Registry, *prometheus.HistogramVec) {
	reg := prometheus.NewRegistry()
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "fairmesh_http_request_duration_seconds",
		Help: "HTTP API request latency, by route (the pattern that served it) and status code.",
		// From 50 µs (a decision on a warm node) to 2.5 s.
		Buckets: prometheus.ExponentialBuckets(50e-6, 2.5, 13),
	}, []string{"route", "code"})
	reg.MustRegister(newNodeCollector(n), latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg, latency
}

func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// statusRecorder keeps the status a handler wrote, for the latency label.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// observe records a request's latency under its route (r.Pattern, the
// ServeMux pattern that matched, or "unmatched": never the raw path, which
// a client chooses).
func observe(latency *prometheus.HistogramVec, r *http.Request, code int, began time.Time) {
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	if code == 0 {
		code = http.StatusOK
	}
	latency.WithLabelValues(route, strconv.Itoa(code)).Observe(time.Since(began).Seconds())
}
