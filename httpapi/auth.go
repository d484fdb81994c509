package httpapi

import (
	"net/http"
	"strconv"

	"github.com/fairmesh/fairmesh"
)

// Headers of GET /v1/auth, the endpoint for nginx's auth_request.
const (
	// ClientHeader names the client a request is decided for: the proxy
	// sets it from whatever identifies the caller (an API key, a tenant).
	ClientHeader = "X-Fairmesh-Client"
	// CostHeader, optional, is how many requests it counts as (default 1).
	CostHeader = "X-Fairmesh-Cost"
	// ErrorHeader says why a request was refused without being decided (a
	// missing or invalid client or cost): the proxy's misconfiguration.
	ErrorHeader = "X-Fairmesh-Error"
)

// auth serves GET /v1/auth: nginx's auth_request subrequest. It decides
// like GET /v1/allow/{client} for the client named by ClientHeader and
// answers 204 to admit, 403 to refuse (auth_request passes 2xx, turns 401
// and 403 into the refusal, and anything else into a 500), with the
// RateLimit-* and Retry-After headers, which the proxy can copy into its
// 429 (deploy/nginx shows how). A missing or invalid client or cost is a
// 403 too, carrying ErrorHeader, and decides nothing: failing closed and
// saying why beats letting traffic through unlimited.
func (h *handler) auth(w http.ResponseWriter, r *http.Request) {
	client := r.Header.Get(ClientHeader)
	if err := fairmesh.ValidateClientID(client); err != nil {
		refuse(w, ClientHeader+": "+err.Error())
		return
	}
	n := 1
	if s := r.Header.Get(CostHeader); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || checkN(v, CostHeader) != nil {
			refuse(w, CostHeader+" must be an integer in [1, "+strconv.Itoa(fairmesh.MaxRate)+"], not "+strconv.Quote(s))
			return
		}
		n = v
	}
	d := h.node.Decide(client, n)
	hdr := w.Header()
	if d.Limit >= 0 {
		hdr.Set("RateLimit-Limit", strconv.FormatInt(d.Limit, 10))
		hdr.Set("RateLimit-Remaining", strconv.FormatInt(max(d.Remaining, 0), 10))
		hdr.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(d.Reset), 10))
	}
	if !d.Allowed {
		hdr.Set("Retry-After", strconv.FormatInt(max(ceilSeconds(d.Reset), 1), 10))
		w.WriteHeader(http.StatusForbidden)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func refuse(w http.ResponseWriter, why string) {
	w.Header().Set(ErrorHeader, why)
	w.WriteHeader(http.StatusForbidden)
}
