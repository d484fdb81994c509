package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

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
func (f *clientFlags) client() (*apiClient, error) {
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
	return &apiClient{
		base:  strings.TrimSuffix(u.String(), "/"),
		token: token,
		http:  &http.Client{Timeout: f.timeout},
	}, nil
}

// apiClient is a thin client of the httpapi endpoints.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

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
// answer and its status.
func (c *apiClient) call(ctx context.Context, method, path string, in any, accept ...int) ([]byte, int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("reading the answer: %w", err)
	}
	if len(raw) > maxAnswerBytes {
		return nil, resp.StatusCode, fmt.Errorf("answer exceeds %d bytes", maxAnswerBytes)
	}
	if len(accept) == 0 {
		accept = []int{http.StatusOK}
	}
	if !slices.Contains(accept, resp.StatusCode) {
		e := &apiError{status: resp.StatusCode}
		if json.Unmarshal(raw, &e.body) != nil || e.body.Error == "" {
			// Not one of ours (a proxy, or ServeMux's plain-text 404/405).
			e.body = httpapi.Error{Error: strings.TrimSpace(string(raw))}
		}
		return raw, resp.StatusCode, e
	}
	return raw, resp.StatusCode, nil
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
