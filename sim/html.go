package sim

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"
)

// maxChartClients bounds the lines of one chart: the clients with the most
// admitted over the run, the rest left to the table of figures.
const maxChartClients = 8

// chartPalette gives each client of a chart its colour.
var chartPalette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"}

// WriteHTML writes the reports as one self-contained HTML page (inline SVG
// and CSS, no script, nothing fetched): per scenario its figures, its
// violations, and a chart of what each client was admitted against its
// ideal in every window, with the scenario's fault events marked where
// they happened. runs[i] is the scenario reports[i] came from.
func WriteHTML(w io.Writer, runs []Scenario, reports []*Report) error {
	if len(runs) != len(reports) {
		return fmt.Errorf("sim: %d scenarios for %d reports", len(runs), len(reports))
	}
	page := htmlPage{Generated: "fairmesh sim"}
	for i, r := range reports {
		page.Runs = append(page.Runs, htmlRun{R: r, Chart: chartOf(runs[i], r)})
	}
	return htmlTemplate.Execute(w, page)
}

type htmlPage struct {
	Generated string
	Runs      []htmlRun
}

type htmlRun struct {
	R     *Report
	Chart chart
}

type chart struct {
	W, H          int
	Lines         []chartLine
	Events        []chartEvent
	YTicks        []chartTick
	XLabel, Empty string
}

type chartLine struct {
	Client, Color string
	Admitted      string // SVG path data
	Ideal         string
}

type chartEvent struct {
	X     float64
	Label string
}

type chartTick struct {
	Y     float64
	Label string
}

func chartOf(sc Scenario, r *Report) chart {
	c := chart{W: 960, H: 300}
	const left, right, top, bottom = 56.0, 12.0, 12.0, 28.0
	if len(r.Windows) == 0 || r.WindowNS <= 0 {
		c.Empty = "no per-window figures (too many clients for a row each)"
		return c
	}
	totals := map[string]int64{}
	var first, last int64 = r.Windows[0].Window, r.Windows[0].Window
	ymax := 1.0
	for _, row := range r.Windows {
		totals[row.Client] += row.Admitted
		first, last = min(first, row.Window), max(last, row.Window)
		ymax = max(ymax, float64(row.Admitted), row.Ideal)
	}
	clients := make([]string, 0, len(totals))
	for id := range totals {
		clients = append(clients, id)
	}
	slices.SortFunc(clients, func(a, b string) int { return cmp.Or(cmp.Compare(totals[b], totals[a]), strings.Compare(a, b)) })
	clients = clients[:min(len(clients), maxChartClients)]
	slices.Sort(clients)
	ymax *= 1.1
	span := float64(max(last-first, 1))
	x := func(win float64) float64 { return left + (float64(c.W)-left-right)*(win-float64(first))/span }
	y := func(v float64) float64 { return top + (float64(c.H)-top-bottom)*(1-v/ymax) }
	for i, id := range clients {
		var adm, ideal strings.Builder
		for _, row := range r.Windows {
			if row.Client != id {
				continue
			}
			sep := "L"
			if adm.Len() == 0 {
				sep = "M"
			}
			fmt.Fprintf(&adm, "%s%.1f,%.1f", sep, x(float64(row.Window)), y(float64(row.Admitted)))
			fmt.Fprintf(&ideal, "%s%.1f,%.1f", sep, x(float64(row.Window)), y(row.Ideal))
		}
		c.Lines = append(c.Lines, chartLine{Client: id, Color: chartPalette[i%len(chartPalette)], Admitted: adm.String(), Ideal: ideal.String()})
	}
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		c.YTicks = append(c.YTicks, chartTick{Y: y(v), Label: fmt.Sprint(int64(v))})
	}
	for _, ev := range sc.Events {
		win := float64(ev.At.D()) / float64(r.WindowNS)
		if win < float64(first) || win > float64(last) {
			continue
		}
		c.Events = append(c.Events, chartEvent{X: x(win), Label: describeEvent(ev)})
	}
	c.XLabel = fmt.Sprintf("windows of %v, %d to %d", time.Duration(r.WindowNS), first, last)
	return c
}

// describeEvent names a scenario event in a few words, for a chart.
func describeEvent(e Event) string {
	at := e.At.D().String()
	switch {
	case len(e.Partition) > 0:
		sides := make([]string, len(e.Partition))
		for i, s := range e.Partition {
			sides[i] = strings.Join(s, ",")
		}
		return at + " split " + strings.Join(sides, " | ")
	case e.Heal:
		return at + " heal"
	case e.Crash != "":
		return at + " crash " + e.Crash
	case e.Restart != "":
		return at + " restart " + e.Restart
	case e.Join != "":
		return at + " join " + e.Join
	case e.Leave != "":
		return at + " leave " + e.Leave
	case e.Pause != "":
		return at + " pause " + e.Pause
	case e.Resume != "":
		return at + " resume " + e.Resume
	case e.SetWeight != nil:
		return fmt.Sprintf("%s weight %s=%d", at, e.SetWeight.Client, e.SetWeight.Weight)
	case e.SetLimit != nil:
		return fmt.Sprintf("%s limit %s=%d/%v", at, e.SetLimit.Client, e.SetLimit.Rate, e.SetLimit.Period.D())
	case e.SetDemand != nil:
		return fmt.Sprintf("%s demand %s=%g/s", at, e.SetDemand.Client, e.SetDemand.Demand)
	case e.ConfigStorm != nil:
		return fmt.Sprintf("%s config storm %g/s until %v", at, e.ConfigStorm.RatePerS, e.ConfigStorm.Until.D())
	}
	return at
}

var htmlTemplate = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fairmesh simulation report</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2330; }
h2 { font-size: 17px; margin-top: 32px; }
table.fig td { padding: 2px 12px 2px 0; font-variant-numeric: tabular-nums; }
.bad { color: #b91c1c; } .ok { color: #15803d; }
svg { width: 100%; max-width: 960px; height: auto; border: 1px solid #e3e6eb; border-radius: 6px; }
.legend span { margin-right: 16px; white-space: nowrap; }
.legend i { display: inline-block; width: 18px; height: 4px; vertical-align: middle; margin-right: 6px; }
</style></head><body>
<h1>fairmesh simulation report</h1>
<p>Per scenario: admitted per client per window (solid) against the ideal (dashed: weighted max-min
fair shares of the capacity, each client capped at its own limit and its demand); vertical lines
mark the scenario's events.</p>
{{range .Runs}}{{$r := .R}}
<section data-scenario="{{$r.Name}}">
<h2>{{$r.Name}} <small>seed {{$r.Seed}}</small></h2>
<table class="fig">
<tr><td>over-admission (worst client-window)</td><td>{{printf "%.2f" $r.OverAdmissionPct}} %</td></tr>
<tr><td>capacity over-admission (worst window)</td><td>{{printf "%.2f" $r.CapacityOverAdmissionPct}} %</td></tr>
<tr><td>fairness error</td><td>{{printf "%.2f" $r.FairnessErrorPct}} % over {{$r.MeasuredWindows}} windows</td></tr>
<tr><td>Jain index</td><td>{{printf "%.4f" $r.JainIndex}}</td></tr>
<tr><td>utilization</td><td>{{printf "%.2f" $r.UtilizationPct}} %</td></tr>
<tr><td>gossip</td><td>{{printf "%.0f" $r.GossipBytesPerNodePerS}} B per node per s</td></tr>
<tr><td>violations</td><td>{{if $r.Violations}}<span class="bad">{{len $r.Violations}}</span>{{else}}<span class="ok">none</span>{{end}}</td></tr>
</table>
{{if $r.Violations}}<ul class="bad">{{range $r.Violations}}<li>{{.At}} {{.Node}} {{.What}}</li>{{end}}</ul>{{end}}
{{with .Chart}}{{if .Empty}}<p>{{.Empty}}</p>{{else}}
<svg viewBox="0 0 {{.W}} {{.H}}" role="img" aria-label="admitted against ideal per window">
{{range .YTicks}}<line x1="56" x2="948" y1="{{printf "%.1f" .Y}}" y2="{{printf "%.1f" .Y}}" stroke="#eceef2"/><text x="50" y="{{printf "%.1f" .Y}}" text-anchor="end" font-size="11" fill="#6b7280" dy="4">{{.Label}}</text>
{{end}}{{range .Events}}<line class="event" x1="{{printf "%.1f" .X}}" x2="{{printf "%.1f" .X}}" y1="12" y2="272" stroke="#9ca3af" stroke-dasharray="2 3"><title>{{.Label}}</title></line><text x="{{printf "%.1f" .X}}" y="24" font-size="10" fill="#6b7280" transform="rotate(90 {{printf "%.1f" .X}} 24)">{{.Label}}</text>
{{end}}{{range .Lines}}<path class="admitted" data-client="{{.Client}}" d="{{.Admitted}}" fill="none" stroke="{{.Color}}" stroke-width="1.5"/>
<path class="ideal" data-client="{{.Client}}" d="{{.Ideal}}" fill="none" stroke="{{.Color}}" stroke-width="1" stroke-dasharray="5 4"/>
{{end}}<text x="56" y="294" font-size="11" fill="#6b7280">{{.XLabel}}</text>
</svg>
<p class="legend">{{range .Lines}}<span><i style="background: {{.Color}}"></i>{{.Client}}</span>{{end}}</p>
{{end}}{{end}}
</section>
{{end}}
</body></html>
`))
