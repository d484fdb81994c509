package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/httpapi"
)

func newWeightCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "weight", Short: "Manage client weights"}
	var cf clientFlags
	set := &cobra.Command{
		Use:   "set CLIENT WEIGHT",
		Short: "Set a client's weight (an integer >= 0; 0 makes it a scavenger)",
		Example: `  fairmesh weight set checkout 3
  fairmesh weight set batch-jobs 0 --node http://10.0.0.5:8080 --token "$TOKEN"`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := strconv.Atoi(args[1])
			if err != nil {
				return fmt.Errorf("WEIGHT %q is not an integer", args[1])
			}
			return callClient(cmd, &cf, args[0], http.MethodPut, "/weight", httpapi.WeightRequest{Weight: &w}, printClient)
		},
	}
	cf.register(set)
	cmd.AddCommand(set, newGetCmd("weight", func(w io.Writer, c httpapi.Client) error {
		source := "its own"
		if !c.Config.OwnWeight {
			source = "the default"
		}
		_, err := fmt.Fprintf(w, "%s\t%d\t(%s)\n", safe(c.ID), c.Config.Weight, source)
		return err
	}))
	return cmd
}

// newGetCmd is "weight get" and "limit get": one client's setting, as the
// node applies it, and whether it is the client's own or the default. A
// client the node neither has config for nor has seen is an error (exit
// 1): a typo must not read as a client running on the defaults.
func newGetCmd(what string, print func(io.Writer, httpapi.Client) error) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:     "get CLIENT",
		Short:   "Show a client's " + what + " (its own, or the default it runs on)",
		Example: "  fairmesh " + what + " get checkout",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return callClient(cmd, &cf, args[0], http.MethodGet, "", nil, print)
		},
	}
	cf.register(cmd)
	return cmd
}

func newLimitCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "limit", Short: "Manage client limits"}
	var cf clientFlags
	set := &cobra.Command{
		Use:   "set CLIENT RATE PERIOD",
		Short: "Limit a client to RATE requests per PERIOD (a Go duration: 1s, 500ms, 1m); RATE 0 blocks it",
		Example: `  fairmesh limit set checkout 100 1s
  fairmesh limit set scraper 0 1s   # block`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			rate, err := strconv.Atoi(args[1])
			if err != nil {
				return fmt.Errorf("RATE %q is not an integer", args[1])
			}
			// The period goes as typed: the node validates it and names
			// what is wrong.
			return callClient(cmd, &cf, args[0], http.MethodPut, "/limit", httpapi.LimitRequest{Rate: &rate, Period: args[2]}, printClient)
		},
	}
	cf.register(set)
	cmd.AddCommand(set, newGetCmd("limit", func(w io.Writer, c httpapi.Client) error {
		var err error
		switch {
		case !c.Config.Limited:
			_, err = fmt.Fprintf(w, "%s\tnone\t(no limit of its own, and no default)\n", safe(c.ID))
		case c.Config.OwnLimit:
			_, err = fmt.Fprintf(w, "%s\t%s\t(its own)\n", safe(c.ID), limitOf(c.Config))
		default:
			_, err = fmt.Fprintf(w, "%s\t%s\t(the default)\n", safe(c.ID), limitOf(c.Config))
		}
		return err
	}))
	return cmd
}

func newClientCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "client", Short: "Manage one client's config"}
	var cf clientFlags
	del := &cobra.Command{
		Use:   "delete CLIENT",
		Short: "Delete a client's own weight and limit, mesh-wide: it goes back to the defaults",
		Long: `Delete a client's own weight and limit on every node of the mesh: the client
goes back to the defaults (--default-weight, --default-rate). The deletion is
a write like any other: it wins over older updates wherever they meet, and a
later "weight set" or "limit set" configures the client again. A client
without config of its own is an error (exit 1).`,
		Example: "  fairmesh client delete checkout --token \"$TOKEN\"",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return callClient(cmd, &cf, args[0], http.MethodDelete, "", nil, printClient)
		},
	}
	cf.register(del)
	cmd.AddCommand(del)
	return cmd
}

func newAllowCmd() *cobra.Command {
	var (
		cf   clientFlags
		n    int
		wait time.Duration
	)
	// Every failure exits 2, so that 1 means "denied" only.
	fail := func(err error) error {
		if err == nil {
			return nil
		}
		return &exitError{code: 2, err: err}
	}
	cmd := &cobra.Command{
		Use:   "allow CLIENT",
		Short: "Ask whether CLIENT may make a request now (exit 0 admitted, 1 denied, 2 error)",
		Long: `Ask the node to decide N requests of CLIENT now. The requests count as made
when admitted. With --wait, wait up to that long for them to be admitted, in
weighted fair order with the others waiting on that node. Exit status: 0 when
admitted, 1 when denied, 2 on any error.`,
		Example: `  fairmesh allow checkout
  fairmesh allow checkout --n 5 --json
  fairmesh allow checkout --wait 2s`,
		Args: func(cmd *cobra.Command, args []string) error {
			return fail(cobra.ExactArgs(1)(cmd, args))
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := fairmesh.ValidateClientID(args[0]); err != nil {
				return fail(err)
			}
			if n < 1 {
				return fail(fmt.Errorf("--n must be at least 1, not %d", n))
			}
			if wait < 0 || wait > httpapi.MaxWait {
				return fail(fmt.Errorf("--wait must be in [0, %v], not %v", httpapi.MaxWait, wait))
			}
			c, err := cf.clientWaiting(wait) // the answer comes after the wait
			if err != nil {
				return fail(err)
			}
			path := "/v1/allow/" + url.PathEscape(args[0]) + "?n=" + strconv.Itoa(n)
			if wait > 0 {
				path += "&wait=" + url.QueryEscape(wait.String())
			}
			var out httpapi.AllowResult
			raw, _, err := c.get(cmd.Context(), http.MethodGet, path, nil, &out, http.StatusOK, http.StatusTooManyRequests)
			if err != nil {
				return fail(err)
			}
			if err := printOr(cmd, cf.json, raw, func() error { return printAllow(cmd.OutOrStdout(), args[0], out) }); err != nil {
				return fail(err)
			}
			if !out.Allowed {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return fail(err) })
	cmd.Flags().IntVarP(&n, "n", "n", 1, "number of requests to decide at once (all or nothing)")
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long for the requests to be admitted (at most "+httpapi.MaxWait.String()+"; 0: decide now)")
	cf.register(cmd)
	return cmd
}

func newClientsCmd() *cobra.Command {
	var (
		cf         clientFlags
		limit      int
		configured bool
	)
	cmd := &cobra.Command{
		Use:   "clients [CLIENT]",
		Short: "List the clients a node tracks (or, with --configured, those with config of their own), or show one",
		Example: `  fairmesh clients
  fairmesh clients --configured
  fairmesh clients checkout --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return callClient(cmd, &cf, args[0], http.MethodGet, "", nil, printClient)
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			var out httpapi.ClientList
			path := "/v1/clients?limit=" + strconv.Itoa(limit)
			if configured {
				path += "&configured=true"
			}
			raw, _, err := c.get(cmd.Context(), http.MethodGet, path, nil, &out)
			if err != nil {
				return err
			}
			return printOr(cmd, cf.json, raw, func() error {
				if err := printClients(cmd.OutOrStdout(), out.Clients); err != nil {
					return err
				}
				if out.Truncated {
					fmt.Fprintf(cmd.ErrOrStderr(), "(the node tracks more than %d clients; raise --limit to see more)\n", limit)
				}
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", httpapi.DefaultListLimit, "list at most this many clients")
	cmd.Flags().BoolVar(&configured, "configured", false, "list the clients with a weight or limit of their own, whether or not the node has seen their traffic")
	cf.register(cmd)
	return cmd
}

func newStatusCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a node's configuration, members and counters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var out httpapi.Status
			raw, _, err := c.get(cmd.Context(), http.MethodGet, "/v1/status", nil, &out)
			if err != nil {
				return err
			}
			return printOr(cmd, cf.json, raw, func() error { return printStatus(cmd.OutOrStdout(), out) })
		},
	}
	cf.register(cmd)
	return cmd
}

func newMembersCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "members",
		Short: "List the mesh's members as a node sees them",
		Long: `List the members of the mesh as the node at --node sees them: each
member's ID, gossip address and state (alive, suspect, dead, left), the
node itself included and marked. Ask each node to compare their views.`,
		Example: `  fairmesh members
  fairmesh members --node http://10.0.0.5:8080 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			var out httpapi.MemberList
			raw, _, err := c.get(cmd.Context(), http.MethodGet, "/v1/members", nil, &out)
			if err != nil {
				return err
			}
			return printOr(cmd, cf.json, raw, func() error { return printMembers(cmd.OutOrStdout(), out) })
		},
	}
	cf.register(cmd)
	cmd.AddCommand(newMembersRemoveCmd())
	return cmd
}

func newMembersRemoveCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "remove MEMBER",
		Short: "Declare a dead member gone for good, mesh-wide",
		Long: `Declare a member that will not come back (its host is lost) gone for
good. Every node stops counting it among the members it knows, and the
others reclaim its shares at once instead of waiting for a majority: in a
mesh of two, the survivor then serves the whole capacity. A member that
is alive cannot be removed: stop it first. A process of that name started
later joins as a new member.`,
		Example: `  fairmesh members remove n3 --token "$TOKEN"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			if _, _, err := c.call(cmd.Context(), http.MethodDelete, "/v1/members/"+url.PathEscape(args[0]), nil, http.StatusNoContent); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", args[0])
			return err
		},
	}
	cf.register(cmd)
	return cmd
}

// printOr prints the raw answer when asJSON, else calls table.
func printOr(cmd *cobra.Command, asJSON bool, raw []byte, table func() error) error {
	if !asJSON {
		return table()
	}
	w := cmd.OutOrStdout()
	if _, err := w.Write(raw); err != nil {
		return err
	}
	if len(raw) == 0 || raw[len(raw)-1] != '\n' {
		_, err := fmt.Fprintln(w)
		return err
	}
	return nil
}

// callClient is the common shape of the commands about one client: check
// the ID as typed, send method to the client's path (+ suffix) with body,
// and print the client it answers with print (or its JSON with --json).
func callClient(cmd *cobra.Command, cf *clientFlags, id, method, suffix string, body any, print func(io.Writer, httpapi.Client) error) error {
	if err := fairmesh.ValidateClientID(id); err != nil {
		return err
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	var out httpapi.Client
	raw, _, err := c.get(cmd.Context(), method, clientPath(id, suffix), body, &out)
	if err != nil {
		return err
	}
	return printOr(cmd, cf.json, raw, func() error { return print(cmd.OutOrStdout(), out) })
}

// printClient prints one client as the clients table does.
func printClient(w io.Writer, c httpapi.Client) error { return printClients(w, []httpapi.Client{c}) }
