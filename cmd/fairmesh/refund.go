package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/httpapi"
)

func newReturnCmd() *cobra.Command {
	var (
		cf clientFlags
		n  int
	)
	cmd := &cobra.Command{
		Use:   "return CLIENT",
		Short: "Give back requests of CLIENT admitted in this window that never reached the API",
		Long: `Tell the node that N requests of CLIENT it admitted in the current window
never reached the protected API: they no longer count against the client's
limit or the capacity. The node gives back at most what it admitted for the
client in the window.`,
		Example: `  fairmesh return checkout
  fairmesh return checkout --n 3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := fairmesh.ValidateClientID(args[0]); err != nil {
				return err
			}
			if n < 1 || n > fairmesh.MaxRate {
				return fmt.Errorf("--n must be in [1, %d], not %d", fairmesh.MaxRate, n)
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			path := "/v1/return/" + url.PathEscape(args[0]) + "?n=" + strconv.Itoa(n)
			var out httpapi.ReturnResult
			raw, _, err := c.get(cmd.Context(), http.MethodPost, path, nil, &out, http.StatusOK)
			if err != nil {
				return err
			}
			return printOr(cmd, cf.json, raw, func() error {
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s: gave back up to %d\n", out.Client, out.Requested)
				return err
			})
		},
	}
	cmd.Flags().IntVarP(&n, "n", "n", 1, "number of requests to give back")
	cf.register(cmd)
	return cmd
}
