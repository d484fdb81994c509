package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fairmesh/fairmesh/sim"
	"github.com/spf13/cobra"
)

// exitViolations is the exit status of `fairmesh sim` when a report has
// violations (1 stays "the command failed").
const exitViolations = 3

// newSimCmd is `fairmesh sim`: run scenario files and built-in scenarios
// through the deterministic simulator (package sim) and print their reports.
func newSimCmd() *cobra.Command {
	var (
		names   []string
		asJSON  bool
		windows bool
		fuzzN   int
		seed    uint64
		outDir  string
		shrinks int
		htmlOut string
	)
	cmd := &cobra.Command{
		Use:   "sim [FILE…]",
		Short: "Run deterministic simulations of a fairmesh mesh",
		Long: `Run scenario files (JSON, schema in sim/README.md) and built-in scenarios
(--scenario NAME, repeatable; "all" for every one) through the deterministic
simulator, and print a report per scenario: a readable summary, or with
--json an array of reports.

The same scenario and seed give the same run, bit for bit: compare digests.

With --fuzz N, it instead draws N random scenarios from --seed (mesh sizes,
clients, limits from 100ms to 1h, steady, Poisson and on/off demand, loss,
duplication, skew, drift, joins, leaves, crashes, restarts, pauses and
resumes, partitions and heals at arbitrary instants), runs each, and checks it: no over-admission in
any window or any client window, no broken invariant, and fairness and
utilization bounds over stable windows when there is no partition. Each
failing scenario is shrunk and written to --out as a JSON file that
"fairmesh sim FILE" replays.

Exit status: 0 when no report has violations (no drawn scenario failed);
3 when at least one has (all reports are printed first); 1 when a scenario
cannot be read or run.`,
		Example: `  fairmesh sim --scenario all
  fairmesh sim --scenario partition --windows
  fairmesh sim --json my-scenario.json
  fairmesh sim --fuzz 200 --seed 1`,
		RunE: func(cmd *cobra.Command, files []string) error {
			if fuzzN > 0 {
				if len(names) > 0 || len(files) > 0 {
					return fmt.Errorf("sim: --fuzz draws its own scenarios: give no files and no --scenario")
				}
				if shrinks < 0 {
					return fmt.Errorf("sim: --shrink %d: must be 0 or more", shrinks)
				}
				return runFuzz(cmd, fuzzN, seed, outDir, shrinks, asJSON)
			}
			if fuzzN < 0 {
				return fmt.Errorf("sim: --fuzz %d: the number of scenarios must be positive", fuzzN)
			}
			var scs []sim.Scenario
			for _, n := range names {
				list := []string{n}
				if n == "all" {
					list = sim.BuiltinNames()
				}
				for _, b := range list {
					sc, err := sim.Builtin(b)
					if err != nil {
						return err
					}
					scs = append(scs, sc)
				}
			}
			for _, f := range files {
				sc, err := loadFile(f)
				if err != nil {
					return err
				}
				scs = append(scs, sc)
			}
			if len(scs) == 0 {
				return fmt.Errorf("sim: nothing to run: give scenario files or --scenario NAME (one of %v, or all)", sim.BuiltinNames())
			}
			reports := make([]*sim.Report, 0, len(scs))
			bad := false
			out := cmd.OutOrStdout()
			progress := newProgress(cmd.ErrOrStderr(), len(scs))
			for _, sc := range scs {
				progress.start(sc.Name)
				rep, err := sim.Run(sc)
				progress.done()
				if err != nil {
					return err
				}
				bad = bad || len(rep.Violations) > 0
				if htmlOut != "" {
					// The page charts every window; the text report
					// below still prints them only with --windows.
					full := *rep
					full.Windows = slices.Clone(rep.Windows)
					reports = append(reports, &full)
				}
				if asJSON {
					if htmlOut == "" {
						reports = append(reports, rep)
					}
					continue
				}
				if !windows {
					rep.Windows = nil
				}
				rep.WriteText(out)
				fmt.Fprintln(out)
			}
			if htmlOut != "" {
				if err := writeHTMLReport(htmlOut, scs, reports); err != nil {
					return err
				}
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(reports); err != nil {
					return err
				}
			}
			if bad {
				return &exitError{code: exitViolations}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&names, "scenario", nil, `built-in scenario to run (repeatable; "all" for every one)`)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of reports (with the per-window figures)")
	cmd.Flags().BoolVar(&windows, "windows", false, "include the per-window table in the text report")
	cmd.Flags().StringVar(&htmlOut, "html", "", "also write the reports as one self-contained HTML page to this file, with a chart per scenario of admitted against ideal per client and window, fault events marked")
	cmd.Flags().IntVar(&fuzzN, "fuzz", 0, "draw and check this many random scenarios instead")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "the seed of --fuzz: the same seed draws the same scenarios")
	cmd.Flags().StringVar(&outDir, "out", ".", "where --fuzz writes each failing scenario, shrunk, as JSON")
	cmd.Flags().IntVar(&shrinks, "shrink", 60, "runs --fuzz may spend shrinking each failing scenario (0: write it as drawn)")
	return cmd
}

// runFuzz is `fairmesh sim --fuzz N`.
func runFuzz(cmd *cobra.Command, n int, seed uint64, outDir string, shrinks int, asJSON bool) error {
	out := cmd.OutOrStdout()
	// Created up front: a directory that cannot be made is an error before
	// minutes of search, not a lost scenario after them.
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	var cases []sim.FuzzCase
	failed := 0
	err := sim.Search(seed, n, shrinks, func(c sim.FuzzCase) {
		if len(c.Failures) > 0 {
			failed++
			sc := c.Scenario
			if c.Shrunk != nil {
				sc = *c.Shrunk
			}
			path := filepath.Join(outDir, sc.Name+".json")
			b, err := json.MarshalIndent(sc, "", "  ")
			if err == nil {
				err = os.WriteFile(path, append(b, '\n'), 0o644)
			}
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "fairmesh: writing %s: %v\n", path, err)
				path = "(not written)"
			}
			if !asJSON {
				fmt.Fprintf(out, "scenario %d FAILED, written to %s:\n  %s\n", c.Index, path, strings.Join(c.Failures, "\n  "))
			}
		}
		if asJSON {
			cases = append(cases, c)
		}
	})
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(cases); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(out, "%d random scenarios from seed %d: %d failed\n", n, seed, failed)
	}
	if failed > 0 {
		return &exitError{code: exitViolations}
	}
	return nil
}

func loadFile(path string) (sim.Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return sim.Scenario{}, err
	}
	defer f.Close()
	sc, err := sim.Load(f)
	if err != nil {
		return sim.Scenario{}, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

// writeHTMLReport writes the HTML page atomically enough for a report: to
// a temporary file beside it, then renamed, so that a failed run leaves
// no half page.
func writeHTMLReport(path string, scs []sim.Scenario, reports []*sim.Report) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fairmesh-sim-*.html")
	if err != nil {
		return fmt.Errorf("--html: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := sim.WriteHTML(tmp, scs, reports); err != nil {
		tmp.Close()
		return fmt.Errorf("--html: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--html: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("--html: %w", err)
	}
	return nil
}

// progress tells a person at a terminal which scenario is running (a run
// can take tens of seconds); piped or redirected, it says nothing.
type progress struct {
	w        io.Writer
	tty      bool
	n, total int
	began    time.Time
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) start(name string) {
	p.n++
	p.began = time.Now()
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[Krunning %d/%d: %s…", p.n, p.total, name)
	}
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K")
	}
}
