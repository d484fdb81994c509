package httpapi

import (
	"errors"
	"net/http"

	"github.com/fairmesh/fairmesh"
)

// ReturnResult is the body of a successful POST /v1/return/{client}.
type ReturnResult struct {
	Client string `json:"client"`
	// Requested is how many requests the caller gave back; the node gives
	// back at most what it admitted for the client in the current window.
	Requested int `json:"requested"`
}

// returnOne serves POST /v1/return/{client}?n=K: K requests admitted in
// the current window never reached the protected API.
func (h *handler) returnOne(w http.ResponseWriter, r *http.Request) {
	client, ok := pathClient(w, r)
	if !ok {
		return
	}
	n, ok := queryN(w, r)
	if !ok {
		return
	}
	if err := h.node.Return(client, n); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, fairmesh.ErrNotTracked) {
			status = http.StatusNotFound
		}
		writeError(w, status, err.Error(), "client")
		return
	}
	writeJSON(w, http.StatusOK, ReturnResult{Client: client, Requested: n})
}
