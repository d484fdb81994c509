// Package client is a Go client of a fairmesh node's HTTP API, for
// services that ask a `fairmesh serve` beside them rather than embedding
// the limiter: decisions (Allow, AllowN, Wait, Return) and config writes
// (UpdateClientWeight, UpdateClientRateLimit).
//
// Connections are kept alive. Config writes and reads are idempotent and
// retried on a network error or a 5xx answer, with jittered exponential
// backoff; decisions never are, since a retry could count a request twice.
// With Options.Batch, concurrent Allow and AllowN calls are gathered into
// one POST /v1/allow: a service making thousands of decisions a second
// through its local node pays one round trip per batch, not per decision.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/httpapi"
)

// Options configures a Client; the zero value is usable.
type Options struct {
	// Token is the admin token, sent with config writes ("": none).
	Token string
	// Timeout bounds one HTTP exchange (default 2s); a Wait's exchange
	// gets its wait on top.
	Timeout time.Duration
	// Retries is how many more times an idempotent call is tried after a
	// network error or a 5xx (default 2; negative: none). The pauses
	// double from 50 ms, each drawn at random between half and all of it.
	Retries int
	// Batch, when positive, gathers the Allow and AllowN calls that come
	// within Batch of the first into one POST /v1/allow (at most
	// MaxBatch of them). 0: one GET per decision.
	Batch time.Duration
	// MaxBatch bounds a batch (default and at most 1000, the API's bound).
	MaxBatch int
	// HTTPClient replaces the default client (keep-alive, 64 idle
	// connections per host). Its own Timeout, if any, also applies.
	HTTPClient *http.Client
	// MaxAnswerBytes bounds an answer read (default 64 MiB: a list of
	// 100 000 clients is about 25 MB).
	MaxAnswerBytes int64
}

// maxBatch is the API's bound on a batch.
const maxBatch = 1000

// Client talks to one node. Safe for concurrent use. Close releases the
// batcher (with Options.Batch) and idle connections.
type Client struct {
	base  string
	opts  Options
	http  *http.Client
	batch *batcher
}

// Decision is a node's answer to a decision.
type Decision struct {
	Allowed bool
	// Limit is the client's mesh-wide allowance in the window (-1:
	// unlimited); Remaining what the node may still admit (-1: unlimited).
	Limit, Remaining int64
	// Reset is the time until the window ends.
	Reset time.Duration
	// WindowStart names the window the decision counted in.
	WindowStart time.Time
}

// APIError is an answer the node refused with (4xx, 5xx).
type APIError struct {
	Status int
	// Message and Field are the node's explanation and the input it
	// names ("" when none).
	Message, Field string
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("fairmesh: HTTP %d", e.Status)
	}
	return fmt.Sprintf("fairmesh: HTTP %d: %s", e.Status, e.Message)
}

// ErrNotAdmitted is Wait's error when the node did not admit the requests
// in time, its queue was full, or no window could ever admit them.
var ErrNotAdmitted = errors.New("fairmesh: not admitted")

// New returns a Client of the node at baseURL (http:// or https://).
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("fairmesh: %q is not an http:// or https:// URL", baseURL)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Retries == 0 {
		opts.Retries = 2
	}
	if opts.MaxBatch <= 0 || opts.MaxBatch > maxBatch {
		opts.MaxBatch = maxBatch
	}
	if opts.MaxAnswerBytes <= 0 {
		opts.MaxAnswerBytes = 64 << 20
	}
	c := &Client{base: strings.TrimSuffix(u.String(), "/"), opts: opts, http: opts.HTTPClient}
	if c.http == nil {
		c.http = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}}
	}
	if opts.Batch > 0 {
		c.batch = newBatcher(c)
	}
	return c, nil
}

// Close stops the batcher, failing the calls it still holds, and closes
// idle connections. Calls after Close fail.
func (c *Client) Close() error {
	if c.batch != nil {
		c.batch.close()
	}
	c.http.CloseIdleConnections()
	return nil
}

// Allow asks whether clientID may make one request now, and counts it.
func (c *Client) Allow(ctx context.Context, clientID string) (bool, error) {
	d, err := c.AllowN(ctx, clientID, 1)
	return d.Allowed, err
}

// AllowN asks whether clientID may make n requests now (all or none).
func (c *Client) AllowN(ctx context.Context, clientID string, n int) (Decision, error) {
	if err := checkRequest(clientID, n); err != nil {
		return Decision{}, err
	}
	if c.batch != nil {
		return c.batch.decide(ctx, clientID, n)
	}
	var res httpapi.AllowResult
	err := c.do(ctx, false, http.MethodGet, "/v1/allow/"+url.PathEscape(clientID)+"?n="+strconv.Itoa(n), nil, &res,
		c.opts.Timeout, http.StatusOK, http.StatusTooManyRequests)
	return decision(res), err
}

// Wait waits until n requests of clientID are admitted, or ctx ends, and
// returns nil once they are. The node waits for it (?wait=), releasing
// what waits in weighted fair order, for at most the time left to ctx's
// deadline (or httpapi.MaxWait, asking again while ctx lasts). It returns
// ctx's error when ctx ended first, and ErrNotAdmitted (wrapped with the
// node's reason) when the node's queue was full or no window could ever
// admit the requests.
func (c *Client) Wait(ctx context.Context, clientID string, n int) error {
	if err := checkRequest(clientID, n); err != nil {
		return err
	}
	for {
		wait := httpapi.MaxWait
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl))
		}
		if wait < time.Millisecond {
			if err := ctx.Err(); err != nil {
				return err
			}
			return context.DeadlineExceeded
		}
		var res httpapi.AllowResult
		path := "/v1/allow/" + url.PathEscape(clientID) + "?n=" + strconv.Itoa(n) + "&wait=" + url.QueryEscape(wait.String())
		if err := c.do(ctx, false, http.MethodGet, path, nil, &res, c.opts.Timeout+wait, http.StatusOK, http.StatusTooManyRequests); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		switch {
		case res.Allowed:
			return nil
		case res.Error != "":
			return fmt.Errorf("%w: %s", ErrNotAdmitted, res.Error)
		case ctx.Err() != nil:
			return ctx.Err()
		}
		if _, ok := ctx.Deadline(); ok {
			return context.DeadlineExceeded // the node waited until the deadline
		}
	}
}

// Return gives back n requests of clientID admitted in the current window
// that never reached the protected API.
func (c *Client) Return(ctx context.Context, clientID string, n int) error {
	if err := checkRequest(clientID, n); err != nil {
		return err
	}
	var res httpapi.ReturnResult
	return c.do(ctx, false, http.MethodPost, "/v1/return/"+url.PathEscape(clientID)+"?n="+strconv.Itoa(n), nil, &res, c.opts.Timeout, http.StatusOK)
}

// UpdateClientWeight sets clientID's weight, mesh-wide.
func (c *Client) UpdateClientWeight(ctx context.Context, clientID string, weight int) error {
	if err := fairmesh.ValidateClientID(clientID); err != nil {
		return err
	}
	body := httpapi.WeightRequest{Weight: &weight}
	var res httpapi.Client
	return c.do(ctx, true, http.MethodPut, "/v1/clients/"+url.PathEscape(clientID)+"/weight", body, &res, c.opts.Timeout, http.StatusOK)
}

// UpdateClientRateLimit sets clientID's limit to rate requests per period,
// mesh-wide.
func (c *Client) UpdateClientRateLimit(ctx context.Context, clientID string, rate int, period time.Duration) error {
	if err := fairmesh.ValidateClientID(clientID); err != nil {
		return err
	}
	body := httpapi.LimitRequest{Rate: &rate, Period: period.String()}
	var res httpapi.Client
	return c.do(ctx, true, http.MethodPut, "/v1/clients/"+url.PathEscape(clientID)+"/limit", body, &res, c.opts.Timeout, http.StatusOK)
}

func checkRequest(clientID string, n int) error {
	if err := fairmesh.ValidateClientID(clientID); err != nil {
		return err
	}
	if n < 1 || n > fairmesh.MaxRate {
		return fmt.Errorf("fairmesh: n must be in [1, %d], not %d", fairmesh.MaxRate, n)
	}
	return nil
}

func decision(r httpapi.AllowResult) Decision {
	d := Decision{Allowed: r.Allowed, Limit: r.Limit, Remaining: r.Remaining, Reset: time.Duration(r.ResetMS) * time.Millisecond}
	if r.WindowStartMS != 0 {
		d.WindowStart = time.UnixMilli(r.WindowStartMS)
	}
	return d
}

// Do sends one request to the node's API (path from "/v1/..." on, query
// included) with in, when not nil, as its JSON body, and returns the
// answer's bytes and status. An answer whose status is not in accept (200
// when empty) is an *APIError. Reads and config writes (GET, PUT, DELETE,
// but not GET /v1/allow/...) are retried as Options.Retries says; the
// rest are decisions or batches of them, and never are. For tools that
// print the node's own answer (the fairmesh CLI); the typed methods are
// the API.
func (c *Client) Do(ctx context.Context, method, path string, in any, accept ...int) ([]byte, int, error) {
	if len(accept) == 0 {
		accept = []int{http.StatusOK}
	}
	idempotent := method == http.MethodPut || method == http.MethodDelete ||
		method == http.MethodGet && !strings.HasPrefix(path, "/v1/allow")
	var raw json.RawMessage
	status, err := c.call(ctx, idempotent, method, path, in, &raw, c.opts.Timeout, accept...)
	return raw, status, err
}

// do is call without the status.
func (c *Client) do(ctx context.Context, idempotent bool, method, path string, in, out any, timeout time.Duration, accept ...int) error {
	_, err := c.call(ctx, idempotent, method, path, in, out, timeout, accept...)
	return err
}

// call makes one call, and retries it when idempotent; accept lists the
// statuses whose body decodes into out.
func (c *Client) call(ctx context.Context, idempotent bool, method, path string, in, out any, timeout time.Duration, accept ...int) (int, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return 0, err
		}
	}
	tries := 1
	if idempotent && c.opts.Retries > 0 {
		tries += c.opts.Retries
	}
	pause := 50 * time.Millisecond
	var err error
	var status int
	for try := 0; try < tries; try++ {
		if try > 0 {
			t := time.NewTimer(pause/2 + rand.N(pause/2+1))
			select {
			case <-ctx.Done():
				t.Stop()
				return 0, ctx.Err()
			case <-t.C:
			}
			pause *= 2
		}
		var retry bool
		status, retry, err = c.once(ctx, method, path, body, out, timeout, accept)
		if err == nil || !retry {
			return status, err
		}
	}
	return status, err
}

// once makes one exchange; retry says whether a failure may be retried.
func (c *Client) once(ctx context.Context, method, path string, body []byte, out any, timeout time.Duration, accept []int) (status int, retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, true, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxAnswerBytes+1))
	if err != nil {
		return resp.StatusCode, true, fmt.Errorf("fairmesh: reading the answer: %w", err)
	}
	if int64(len(raw)) > c.opts.MaxAnswerBytes {
		return resp.StatusCode, false, fmt.Errorf("fairmesh: answer exceeds %d bytes", c.opts.MaxAnswerBytes)
	}
	for _, s := range accept {
		if resp.StatusCode == s {
			if len(raw) == 0 { // 204 No Content
				return resp.StatusCode, false, nil
			}
			if err := json.Unmarshal(raw, out); err != nil {
				return resp.StatusCode, false, fmt.Errorf("fairmesh: undecodable answer (HTTP %d): %w", resp.StatusCode, err)
			}
			return resp.StatusCode, false, nil
		}
	}
	apiErr := &APIError{Status: resp.StatusCode}
	var e httpapi.Error
	if json.Unmarshal(raw, &e) == nil && e.Error != "" {
		apiErr.Message, apiErr.Field = e.Error, e.Field
	} else {
		// Not one of ours: a proxy, or ServeMux's plain-text 404 or 405.
		apiErr.Message = strings.TrimSpace(string(raw[:min(len(raw), 512)]))
	}
	return resp.StatusCode, resp.StatusCode >= 500, apiErr
}
