package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/fairmesh/fairmesh/client"
	"github.com/fairmesh/fairmesh/httpapi"
)

const (
	defaultNode   = "http://127.0.0.1:8080"
	clientTimeout = 10 * time.Second
	// maxAnswerBytes bounds what the CLI reads of an answer (a list of
	// 100k clients is about 25 MB).
	maxAnswerBytes = 64 << 20
)

// clientFlags are the flags every command that talks to a node shares.
type clientFlags struct {
	node    string
	token   string
	json    bool
	timeout time.Duration
}

func (f *clientFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.node, "node", "", "URL of the node's HTTP API (default $FAIRMESH_NODE, else "+defaultNode+")")
	fl.StringVar(&f.token, "token", "", "admin bearer token (default $FAIRMESH_TOKEN)")
	fl.BoolVar(&f.json, "json", false, "print the server's raw JSON answer")
	fl.DurationVar(&f.timeout, "timeout", clientTimeout, "how long to wait for the node")
}

// client builds the API client; environment variables fill the flags the
// user left unset (read here, not as flag defaults, so that --help never
// prints a token).
func (f *clientFlags) client() (*apiClient, error) { return f.clientWaiting(0) }

// clientWaiting is client for a call that the node may hold up to wait
// before it answers (allow --wait): its timeout is --timeout on top.
func (f *clientFlags) clientWaiting(wait time.Duration) (*apiClient, error) {
	node := f.node
	if node == "" {
		node = os.Getenv("FAIRMESH_NODE")
	}
	if node == "" {
		node = defaultNode
	}
	u, err := url.Parse(node)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--node %q is not an http:// or https:// URL", node)
	}
	token := f.token
	if token == "" {
		token = os.Getenv("FAIRMESH_TOKEN")
	}
	c, err := client.New(u.String(), client.Options{Token: token, Timeout: f.timeout + wait, MaxAnswerBytes: maxAnswerBytes})
	if err != nil {
		return nil, err
	}
	return &apiClient{c: c}, nil
}

// apiClient is the CLI's use of the client package: the node's raw
// answers, which the commands print as they are with --json.
type apiClient struct{ c *client.Client }

// apiError is a non-2xx answer, with the server's error when it sent one.
type apiError struct {
	status int
	body   httpapi.Error
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("node answered %d %s", e.status, http.StatusText(e.status))
	if e.body.Error != "" {
		msg += ": " + e.body.Error
	}
	if e.body.Field != "" {
		msg += " (field " + e.body.Field + ")"
	}
	return msg
}

// call sends a request with an optional JSON body, checks that the answer's
// status is one of accept (200 when none are given), and returns the raw
// answer and its status. Reads and config writes are retried by the client
// package on a network error or a 5xx; decisions are not.
func (c *apiClient) call(ctx context.Context, method, path string, in any, accept ...int) ([]byte, int, error) {
	raw, status, err := c.c.Do(ctx, method, path, in, accept...)
	var ae *client.APIError
	if errors.As(err, &ae) {
		return nil, ae.Status, &apiError{status: ae.Status, body: httpapi.Error{Error: ae.Message, Field: ae.Field}}
	}
	return raw, status, err
}

// get calls and decodes the answer into out.
func (c *apiClient) get(ctx context.Context, method, path string, in, out any, accept ...int) ([]byte, int, error) {
	raw, status, err := c.call(ctx, method, path, in, accept...)
	if err != nil {
		return raw, status, err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return raw, status, fmt.Errorf("decoding the answer: %w", err)
	}
	return raw, status, nil
}

func clientPath(id, suffix string) string {
	return "/v1/clients/" + url.PathEscape(id) + suffix
}
