package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/fairmesh/fairmesh"
)

// allowOne serves GET /v1/allow/{client}?n=K&wait=DUR.
//
// With wait, the request waits (Node.WaitDecide) up to DUR for the
// requests to be admitted, in weighted fair order with the others waiting
// on this node: 200 once admitted, 429 when DUR ran out, the queue is full
// (error says so) or no window could ever admit them. A client that hangs
// up leaves the queue.
//
// Headers follow the IETF RateLimit header fields draft: RateLimit-Limit is
// the client's allowance in the current window, RateLimit-Remaining what
// this node may still admit of it, RateLimit-Reset the seconds (rounded up)
// until the window ends. An unlimited client (Limit -1) has no quota to
// describe, so the three headers are omitted rather than filled with a
// made-up number; its JSON body carries -1. A denied request also gets
// Retry-After, in whole seconds, at least 1.
func (h *handler) allowOne(w http.ResponseWriter, r *http.Request) {
	client, ok := pathClient(w, r)
	if !ok {
		return
	}
	n, ok := queryN(w, r)
	if !ok {
		return
	}
	wait, ok := queryWait(w, r)
	if !ok {
		return
	}
	var d fairmesh.Decision
	var waitErr error
	if wait > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		d, waitErr = h.node.WaitDecide(ctx, client, n)
		cancel()
	} else {
		d = h.node.Decide(client, n)
	}
	hdr := w.Header()
	if d.Limit >= 0 {
		hdr.Set("RateLimit-Limit", strconv.FormatInt(d.Limit, 10))
		hdr.Set("RateLimit-Remaining", strconv.FormatInt(max(d.Remaining, 0), 10))
		hdr.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(d.Reset), 10))
	}
	status := http.StatusOK
	res := result(d)
	if waitErr != nil {
		res.Allowed = false
		if errors.Is(waitErr, fairmesh.ErrQueueFull) || errors.Is(waitErr, fairmesh.ErrNeverAdmitted) {
			res.Error = waitErr.Error()
		}
	}
	if !res.Allowed {
		status = http.StatusTooManyRequests
		hdr.Set("Retry-After", strconv.FormatInt(max(ceilSeconds(d.Reset), 1), 10))
	}
	writeJSON(w, status, res)
}

// MaxWait is the longest ?wait= a request may ask for: a server must let
// a response take this long to be written (fairmesh serve does).
const MaxWait = 30 * time.Second

// queryWait reads the optional ?wait=DUR of a request (a Go duration such
// as 2s or 500ms; default 0, no wait), answering 400 itself when it is not
// a duration in (0, MaxWait].
func queryWait(w http.ResponseWriter, r *http.Request) (time.Duration, bool) {
	q := r.URL.Query()
	if !q.Has("wait") {
		return 0, true
	}
	s := q.Get("wait")
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > MaxWait {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("wait must be a duration in (0, %v] such as 2s or 500ms, not %q", MaxWait, s), "wait")
		return 0, false
	}
	return d, true
}

// allowBatch serves POST /v1/allow. Every element is validated before any
// is decided: an invalid element refuses the whole batch and admits nothing.
func (h *handler) allowBatch(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Requests []json.RawMessage `json:"requests"`
	}
	if bad := h.decodeBody(w, r, &body); bad != nil {
		bad.write(w)
		return
	}
	if body.Requests == nil {
		writeError(w, http.StatusBadRequest, "requests is required (an array)", "requests")
		return
	}
	if len(body.Requests) > h.maxBatch {
		writeError(w, http.StatusBadRequest,
			fmt.Sprintf("batch of %d requests exceeds the limit of %d", len(body.Requests), h.maxBatch), "requests")
		return
	}
	items := make([]BatchItem, len(body.Requests))
	for i, raw := range body.Requests {
		prefix := fmt.Sprintf("requests[%d]", i)
		if string(raw) == "null" {
			writeError(w, http.StatusBadRequest, prefix+" must be an object", prefix)
			return
		}
		if bad := decodeStrict(raw, &items[i], prefix); bad != nil {
			bad.write(w)
			return
		}
		if err := fairmesh.ValidateClientID(items[i].Client); err != nil {
			writeError(w, http.StatusBadRequest, prefix+".client: "+err.Error(), prefix+".client")
			return
		}
		if items[i].N != nil {
			if bad := checkN(*items[i].N, prefix+".n"); bad != nil {
				bad.write(w)
				return
			}
		}
	}
	resp := BatchResponse{Results: make([]AllowResult, len(items))}
	for i, it := range items {
		n := 1
		if it.N != nil {
			n = *it.N
		}
		resp.Results[i] = result(h.node.Decide(it.Client, n))
	}
	writeJSON(w, http.StatusOK, resp)
}

// checkN bounds the number of requests asked for at once.
// pathClient reads the {client} of a request's path, answering 400 itself
// when it is not a valid client ID.
func pathClient(w http.ResponseWriter, r *http.Request) (string, bool) {
	client := r.PathValue("client")
	if err := fairmesh.ValidateClientID(client); err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "client")
		return "", false
	}
	return client, true
}

// queryN reads the optional ?n=K of a request (default 1), answering 400
// itself when it is not an integer in [1, MaxRate].
func queryN(w http.ResponseWriter, r *http.Request) (int, bool) {
	q := r.URL.Query()
	if !q.Has("n") {
		return 1, true
	}
	s := q.Get("n")
	v, err := strconv.Atoi(s)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("n must be an integer, not %q", s), "n")
		return 0, false
	}
	if bad := checkN(v, "n"); bad != nil {
		bad.write(w)
		return 0, false
	}
	return v, true
}

func checkN(n int, field string) *badInput {
	if n < 1 || n > fairmesh.MaxRate {
		return invalid(field, "%s must be in [1, %d], not %d", field, fairmesh.MaxRate, n)
	}
	return nil
}

func result(d fairmesh.Decision) AllowResult {
	return AllowResult{
		Allowed:   d.Allowed,
		Limit:     d.Limit,
		Remaining: d.Remaining,
		ResetMS:   ceilDiv(d.Reset, time.Millisecond),
		// Windows are whole milliseconds (MinPeriod is 1ms) aligned on
		// mesh time, so the start is exact in milliseconds.
		WindowStartMS: windowStartMS(d.WindowStart),
	}
}

// windowStartMS is t in Unix milliseconds; 0 for the zero time (no decision).
func windowStartMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func ceilSeconds(d time.Duration) int64 { return ceilDiv(d, time.Second) }

// ceilDiv is d/unit rounded up; 0 for d <= 0.
func ceilDiv(d, unit time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + unit - 1) / unit)
}
