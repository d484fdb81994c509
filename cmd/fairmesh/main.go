// Command fairmesh runs a fairmesh mesh member (`fairmesh serve`) and talks
// to a running node's HTTP API (`weight set`, `limit set`, `allow`,
// `clients`, `status`, `members`).
//
// Exit status: 0 on success; 1 on any error (bad arguments, an unreachable
// node, a refusal by the server). `allow` differs so that scripts can tell a
// denial from a failure: 0 when admitted, 1 when denied, 2 on any error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI with args and returns the process exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code, err = ee.code, ee.err
	}
	if err != nil {
		// One prefix: errors from the fairmesh packages carry their own.
		fmt.Fprintln(stderr, "fairmesh:", strings.TrimPrefix(err.Error(), "fairmesh: "))
	}
	return code
}

// exitError carries a specific exit status; err nil means the command has
// already said all it had to (`allow` when denied).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "fairmesh",
		Short: "A distributed rate limiter with weighted fair sharing",
		Long: `fairmesh is a distributed rate limiter with weighted fair sharing.

Run a node with "fairmesh serve"; the other commands talk to a running
node's HTTP API (--node, or $FAIRMESH_NODE).`,
		SilenceErrors: true, // run prints them, once
		SilenceUsage:  true, // a failed request is not a usage error
		Version:       version(),
	}
	root.SetVersionTemplate("fairmesh {{.Version}}\n")
	root.AddCommand(newServeCmd(), newWeightCmd(), newLimitCmd(), newClientCmd(), newApplyCmd(), newAllowCmd(), newReturnCmd(), newClientsCmd(), newStatusCmd(), newMembersCmd(), newSimCmd())
	setFlagErrors(root)
	return root
}

// setFlagErrors makes flag errors say what to do. A negative number among
// the arguments ("weight set x -5") reaches the flag parser as a flag and
// would read "unknown shorthand flag: '5' in -5"; weights, rates and counts
// are never negative, so that is what it says. Set on the root, it serves
// every command that has no handler of its own (allow keeps its own, for
// its exit status).
func setFlagErrors(root *cobra.Command) {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		msg := err.Error()
		if _, rest, ok := strings.Cut(msg, "unknown shorthand flag: '"); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			if _, arg, ok := strings.Cut(rest, " in "); ok {
				return fmt.Errorf("%s: negative numbers are never valid here (weights, rates and counts are at least 0)", arg)
			}
		}
		return err
	})
}

// version is the module version this binary was built from ("(devel)" for
// a build from a checkout), with the VCS revision when the build recorded
// one.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " " + rev + dirty
	}
	return v + " " + bi.GoVersion
}
