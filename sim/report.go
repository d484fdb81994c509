package sim

import (
	"fmt"
	"io"
	"math"
	"time"
)

// MaxViolations bounds the violations listed in a Report; the rest are
// counted in one last entry.
const MaxViolations = 1000

// MaxClientRows is the number of clients up to which Report.Windows has one
// row per window and client; with more clients it has one row per window
// with Client "*" holding the totals over all clients.
const MaxClientRows = 100

// Report is the outcome of one run. Percentages are in percent; -1 means
// "not measured" (no measured window, no config update).
type Report struct {
	Name   string `json:"name"`
	Seed   uint64 `json:"seed"`
	Digest string `json:"digest"`
	// OverAdmissionPct is the worst client-window, after 2 warm-up
	// windows, of (admitted − 1 − allowance) / allowance · 100 over clients
	// with an allowance; 0 if never over.
	OverAdmissionPct float64 `json:"over_admission_pct"`
	// CapacityOverAdmissionPct is the worst window, after 2 warm-up
	// windows, of (Σ admitted − 1 − capacity) / capacity · 100; 0 if never
	// over or without capacity.
	CapacityOverAdmissionPct float64 `json:"capacity_over_admission_pct"`
	// FairnessErrorPct is Σ dist(admitted, ideal) / Σ ideal · 100 over the
	// measured windows, per client and window, where dist is how far
	// admitted lies outside [floor(ideal), ceil(ideal)]: what rounding to
	// whole requests forces is not an error.
	FairnessErrorPct float64 `json:"fairness_error_pct"`
	// JainIndex is Jain's index over clients of Σ admitted / Σ ideal over
	// the measured windows (1 is perfectly fair).
	JainIndex float64 `json:"jain_index"`
	// UtilizationPct is Σ admitted / Σ min(capacity, Σ_c min(demand_c,
	// allowance_c)) · 100 over the measured windows.
	UtilizationPct float64 `json:"utilization_pct"`
	// ConfigConvergenceMsP99 is the 99th percentile, over config updates,
	// of the time until every live node shows the newest value issued for
	// the client; -1 without updates.
	ConfigConvergenceMsP99 float64 `json:"config_convergence_ms_p99"`
	// GossipBytesPerNodePerS is the payload bytes of Tick messages and
	// full-state exchanges sent, per live node-second.
	GossipBytesPerNodePerS float64 `json:"gossip_bytes_per_node_per_s"`
	// MeasuredWindows counts the windows the fairness figures cover.
	MeasuredWindows int `json:"measured_windows"`
	// WindowNS is the measurement window's length: window i of Windows
	// starts i·WindowNS after the start of true time.
	WindowNS int64 `json:"window_ns"`
	// Windows has per-window figures (see MaxClientRows).
	Windows []WindowRow `json:"windows"`
	// Violations are broken invariants and bounds, at most MaxViolations.
	Violations []Violation `json:"violations"`
	// Stats counts what happened in the run.
	Stats Stats `json:"stats"`
}

// WindowRow is one client (or "*", all clients) in one window.
type WindowRow struct {
	Window    int64   `json:"window"`
	Client    string  `json:"client"`
	Demand    int64   `json:"demand"`
	Allowance int64   `json:"allowance"` // -1: unlimited
	Admitted  int64   `json:"admitted"`
	Ideal     float64 `json:"ideal"`
	Measured  bool    `json:"measured"`
}

// Violation is one broken invariant or bound: when (simulated time since
// the start), on which node ("" when mesh-wide) and what.
type Violation struct {
	At   string `json:"at"`
	Node string `json:"node"`
	What string `json:"what"`
}

// Stats are counts over the whole run.
type Stats struct {
	Events        int64 `json:"events"`
	Requests      int64 `json:"requests"`
	Admitted      int64 `json:"admitted"`
	ConfigUpdates int   `json:"config_updates"`
	ReceiveErrors int64 `json:"receive_errors"`
	GossipBytes   int64 `json:"gossip_bytes"`
}

func (r *runner) violation(node int, what string) {
	r.nviol++
	if r.nviol > MaxViolations {
		return
	}
	v := Violation{At: time.Duration(r.now).String(), What: what}
	if node >= 0 {
		v.Node = r.nodes[node].id
	}
	r.violations = append(r.violations, v)
	r.tr.begin(trViolation, r.now)
	r.tr.str(v.Node)
	r.tr.str(what)
	r.tr.end()
}

func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }

// WriteText writes a readable summary of r; the per-window table only if
// r.Windows is non-empty (the CLI clears it unless --windows).
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "scenario %s  seed %d\n", r.Name, r.Seed)
	fmt.Fprintf(w, "  digest                       %s\n", r.Digest)
	fmt.Fprintf(w, "  over-admission               %8.2f %%  worst client-window above its allowance\n", r.OverAdmissionPct)
	fmt.Fprintf(w, "  capacity over-admission      %8.2f %%  worst window above capacity\n", r.CapacityOverAdmissionPct)
	fmt.Fprintf(w, "  fairness error               %8.2f %%  Σ|admitted−ideal| beyond rounding / Σideal, %d measured windows\n", r.FairnessErrorPct, r.MeasuredWindows)
	fmt.Fprintf(w, "  Jain index                   %8.4f\n", r.JainIndex)
	fmt.Fprintf(w, "  utilization                  %8.2f %%\n", r.UtilizationPct)
	if r.ConfigConvergenceMsP99 < 0 {
		fmt.Fprintf(w, "  config convergence p99            n/a  (no config updates)\n")
	} else {
		fmt.Fprintf(w, "  config convergence p99       %8.1f ms\n", r.ConfigConvergenceMsP99)
	}
	fmt.Fprintf(w, "  gossip                       %8.0f B per node per s\n", r.GossipBytesPerNodePerS)
	fmt.Fprintf(w, "  requests %d, admitted %d, config updates %d, receive errors %d, events %d\n",
		r.Stats.Requests, r.Stats.Admitted, r.Stats.ConfigUpdates, r.Stats.ReceiveErrors, r.Stats.Events)
	if len(r.Windows) > 0 {
		fmt.Fprintf(w, "  %6s %-20s %8s %9s %8s %10s %s\n", "window", "client", "demand", "allowance", "admitted", "ideal", "measured")
		for _, row := range r.Windows {
			fmt.Fprintf(w, "  %6d %-20s %8d %9d %8d %10.1f %v\n", row.Window, row.Client, row.Demand, row.Allowance, row.Admitted, row.Ideal, row.Measured)
		}
	}
	if len(r.Violations) == 0 {
		fmt.Fprintf(w, "  violations: none\n")
		return
	}
	fmt.Fprintf(w, "  violations: %d\n", len(r.Violations))
	for _, v := range r.Violations {
		node := v.Node
		if node == "" {
			node = "mesh"
		}
		fmt.Fprintf(w, "    %10s %-6s %s\n", v.At, node, v.What)
	}
}
