package main

import (
	"encoding/json"
	"fmt"
	"os"

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
	)
	cmd := &cobra.Command{
		Use:   "sim [FILE…]",
		Short: "Run deterministic simulations of a fairmesh mesh",
		Long: `Run scenario files (JSON, schema in sim/README.md) and built-in scenarios
(--scenario NAME, repeatable; "all" for every one) through the deterministic
simulator, and print a report per scenario: a readable summary, or with
--json an array of reports.

The same scenario and seed give the same run, bit for bit: compare digests.

Exit status: 0 when no report has violations; 3 when at least one has
(all reports are printed first); 1 when a scenario cannot be read or run.`,
		Example: `  fairmesh sim --scenario all
  fairmesh sim --scenario partition --windows
  fairmesh sim --json my-scenario.json`,
		RunE: func(cmd *cobra.Command, files []string) error {
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
			for _, sc := range scs {
				rep, err := sim.Run(sc)
				if err != nil {
					return err
				}
				bad = bad || len(rep.Violations) > 0
				if asJSON {
					reports = append(reports, rep)
					continue
				}
				if !windows {
					rep.Windows = nil
				}
				rep.WriteText(out)
				fmt.Fprintln(out)
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
	return cmd
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
