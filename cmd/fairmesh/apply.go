package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/fairmesh/fairmesh/httpapi"
	"github.com/fairmesh/fairmesh/internal/strictjson"
)

// maxApplyFileBytes bounds a config file given to apply.
const maxApplyFileBytes = httpapi.MaxApplyBytes

// configFile is what apply reads: the same document in YAML or JSON.
type configFile struct {
	Clients []fileClient `json:"clients" yaml:"clients"`
}

type fileClient struct {
	ID     string `json:"id" yaml:"id"`
	Weight *int   `json:"weight,omitempty" yaml:"weight,omitempty"`
	Rate   *int   `json:"rate,omitempty" yaml:"rate,omitempty"`
	Period string `json:"period,omitempty" yaml:"period,omitempty"`
}

func newApplyCmd() *cobra.Command {
	var (
		cf     clientFlags
		file   string
		dryRun bool
		prune  bool
	)
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Make the clients' weights and limits what a file says (YAML or JSON), all or nothing",
		Long: `Make the config of the clients a file lists what the file says, mesh-wide, all
of it or none: one invalid entry refuses the whole file and changes nothing.
A client's weight or limit that the file leaves out goes back to the default.
With --prune, the clients the file does not list lose their config too, so
that the file is the whole truth (keep it in version control). --dry-run
prints what would change and changes nothing. "-f -" reads standard input.

The file (YAML, or the same document in JSON; .json files are read as JSON):

  clients:
    - id: checkout
      weight: 3
      rate: 100
      period: 1s
    - id: batch-jobs
      weight: 0`,
		Example: `  fairmesh apply -f clients.yaml --dry-run
  fairmesh apply -f clients.yaml --prune --token "$TOKEN"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return errors.New("-f FILE is required")
			}
			cfg, err := readConfigFile(file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			req := httpapi.ApplyRequest{Clients: make([]httpapi.ClientSetting, len(cfg.Clients)), Prune: prune}
			for i, fc := range cfg.Clients {
				req.Clients[i] = httpapi.ClientSetting{ID: fc.ID, Weight: fc.Weight, Rate: fc.Rate, Period: fc.Period}
			}
			path := "/v1/apply"
			if dryRun {
				path += "?dry_run=true"
			}
			var out httpapi.ApplyResponse
			raw, _, err := c.get(cmd.Context(), http.MethodPost, path, req, &out)
			if err != nil {
				return err
			}
			return printOr(cmd, cf.json, raw, func() error { return printChanges(cmd.OutOrStdout(), out) })
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the config file (YAML or JSON; - for standard input)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would change, change nothing")
	cmd.Flags().BoolVar(&prune, "prune", false, "also remove the config of every client the file does not list")
	cf.register(cmd)
	return cmd
}

// readConfigFile reads and strictly decodes a config file: unknown fields
// and a key given twice are errors that name the file, never ignored.
func readConfigFile(name string, stdin io.Reader) (configFile, error) {
	var cfg configFile
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, maxApplyFileBytes+1))
	} else {
		data, err = readSmallFile(name, maxApplyFileBytes)
	}
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > maxApplyFileBytes {
		return cfg, fmt.Errorf("%s: larger than %d bytes", name, maxApplyFileBytes)
	}
	if strings.EqualFold(filepath.Ext(name), ".json") {
		if dup := strictjson.DuplicateKey(data); dup != "" {
			return cfg, fmt.Errorf("%s: %s is given twice", name, dup)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return cfg, fmt.Errorf("%s: %w", name, err)
		}
		if dec.More() {
			return cfg, fmt.Errorf("%s: more than one JSON document", name)
		}
	} else {
		// YAML, a superset of JSON: duplicate keys are an error there.
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil {
			if errors.Is(err, io.EOF) {
				return cfg, fmt.Errorf("%s: the file is empty (write \"clients: []\" to mean no clients)", name)
			}
			return cfg, fmt.Errorf("%s: %w", name, err)
		}
		var more any
		if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
			return cfg, fmt.Errorf("%s: more than one YAML document", name)
		}
	}
	if cfg.Clients == nil {
		return cfg, fmt.Errorf("%s: no \"clients\" list (write \"clients: []\" to mean no clients)", name)
	}
	return cfg, nil
}

// printChanges prints an apply's changes as a diff, one line per client.
func printChanges(w io.Writer, r httpapi.ApplyResponse) error {
	verb := "applied"
	if !r.Applied {
		verb = "would apply (dry run)"
	}
	if len(r.Changes) == 0 {
		_, err := fmt.Fprintln(w, "no changes")
		return err
	}
	for _, c := range r.Changes {
		mark := "~"
		switch {
		case isDefault(c.Before):
			mark = "+"
		case isDefault(c.After):
			mark = "-"
		}
		fmt.Fprintf(w, "%s %s: %s -> %s\n", mark, safe(c.ID), describeSetting(c.Before), describeSetting(c.After))
	}
	_, err := fmt.Fprintf(w, "%s: %d client(s) changed\n", verb, len(r.Changes))
	return err
}

func isDefault(s httpapi.ClientSetting) bool { return s.Weight == nil && s.Rate == nil }

func describeSetting(s httpapi.ClientSetting) string {
	weight, limit := "default", "default"
	if s.Weight != nil {
		weight = fmt.Sprint(*s.Weight)
	}
	if s.Rate != nil {
		limit = fmt.Sprintf("%d/%s", *s.Rate, s.Period)
	}
	return "weight " + weight + ", limit " + limit
}
