package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fairmesh/fairmesh"
)

// putWeight serves PUT /v1/clients/{client}/weight and answers the client
// as it is after the change.
func (h *handler) putWeight(w http.ResponseWriter, r *http.Request) {
	client, ok := pathClient(w, r)
	if !ok {
		return
	}
	var req WeightRequest
	if bad := h.decodeBody(w, r, &req); bad != nil {
		bad.write(w)
		return
	}
	switch {
	case req.Weight == nil:
		writeError(w, http.StatusBadRequest, "weight is required", "weight")
		return
	case *req.Weight < 0 || *req.Weight > fairmesh.MaxWeight:
		writeError(w, http.StatusBadRequest,
			fmt.Sprintf("weight must be in [0, %d], not %d", fairmesh.MaxWeight, *req.Weight), "weight")
		return
	}
	if err := h.node.UpdateClientWeight(client, *req.Weight); err != nil {
		writeUpdateError(w, err, "weight")
		return
	}
	h.writeClient(w, client)
}

// putLimit serves PUT /v1/clients/{client}/limit and answers the client as
// it is after the change.
func (h *handler) putLimit(w http.ResponseWriter, r *http.Request) {
	client, ok := pathClient(w, r)
	if !ok {
		return
	}
	var req LimitRequest
	if bad := h.decodeBody(w, r, &req); bad != nil {
		bad.write(w)
		return
	}
	if req.Rate == nil {
		writeError(w, http.StatusBadRequest, "rate is required", "rate")
		return
	}
	if *req.Rate < 0 || *req.Rate > fairmesh.MaxRate {
		writeError(w, http.StatusBadRequest,
			fmt.Sprintf("rate must be in [0, %d], not %d", fairmesh.MaxRate, *req.Rate), "rate")
		return
	}
	if req.Period == "" {
		writeError(w, http.StatusBadRequest, `period is required (a Go duration such as "1s")`, "period")
		return
	}
	period, err := time.ParseDuration(req.Period)
	if err != nil {
		writeError(w, http.StatusBadRequest,
			fmt.Sprintf("period %q is not a Go duration such as \"1s\" or \"500ms\"", req.Period), "period")
		return
	}
	if period < fairmesh.MinPeriod || period > fairmesh.MaxPeriod {
		writeError(w, http.StatusBadRequest,
			fmt.Sprintf("period must be in [%v, %v], not %v", fairmesh.MinPeriod, fairmesh.MaxPeriod, period), "period")
		return
	}
	if err := h.node.UpdateClientRateLimit(client, *req.Rate, period); err != nil {
		// The checks above mirror the Node's; should it refuse anyway,
		// its message names the argument.
		field := "rate"
		if strings.Contains(strings.ToLower(err.Error()), "period") {
			field = "period"
		}
		writeUpdateError(w, err, field)
		return
	}
	h.writeClient(w, client)
}

// getClient serves GET /v1/clients/{client}: 404 for a client that is
// neither configured nor tracked, so that a typo is not mistaken for a
// client running on the defaults.
func (h *handler) getClient(w http.ResponseWriter, r *http.Request) {
	client, ok := pathClient(w, r)
	if !ok {
		return
	}
	cs, err := h.node.Client(client)
	if err != nil {
		writeUpdateError(w, err, "client")
		return
	}
	if !cs.Config.Configured && !cs.Tracked {
		writeError(w, http.StatusNotFound,
			fmt.Sprintf("client %q is unknown here: it has no config of its own and this node has not seen its traffic", client), "client")
		return
	}
	writeJSON(w, http.StatusOK, clientJSON(cs))
}

// deleteClient serves DELETE /v1/clients/{client}: the client's own weight
// and limit are removed mesh-wide, and it answers the client as it is now
// (on the defaults). 404 when the client has no config of its own.
func (h *handler) deleteClient(w http.ResponseWriter, r *http.Request) {
	client, ok := pathClient(w, r)
	if !ok {
		return
	}
	if err := h.node.DeleteClient(client); err != nil {
		if errors.Is(err, fairmesh.ErrNotConfigured) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("client %q has no config of its own to delete", client), "client")
			return
		}
		writeUpdateError(w, err, "client")
		return
	}
	h.writeClient(w, client)
}

// writeUpdateError answers a refused config update: 409 when the client ID
// collides with another's (the request is well formed, the ID is taken),
// 400 naming field otherwise.
func writeUpdateError(w http.ResponseWriter, err error, field string) {
	if errors.Is(err, fairmesh.ErrHashCollision) {
		writeError(w, http.StatusConflict, err.Error(), "client")
		return
	}
	writeError(w, http.StatusBadRequest, err.Error(), field)
}

func (h *handler) writeClient(w http.ResponseWriter, client string) {
	cs, err := h.node.Client(client)
	if err != nil {
		writeUpdateError(w, err, "client")
		return
	}
	writeJSON(w, http.StatusOK, clientJSON(cs))
}

// listClients serves GET /v1/clients?limit=N[&configured=true]: at most N
// tracked clients, or with configured=true every client that has a config
// of its own (tracked or not), sorted by ID.
func (h *handler) listClients(w http.ResponseWriter, r *http.Request) {
	limit := DefaultListLimit
	q := r.URL.Query()
	if q.Has("limit") {
		v, err := strconv.Atoi(q.Get("limit"))
		if err != nil || v < 1 || v > MaxListLimit {
			writeError(w, http.StatusBadRequest,
				fmt.Sprintf("limit must be an integer in [1, %d], not %q", MaxListLimit, q.Get("limit")), "limit")
			return
		}
		limit = v
	}
	configured := false
	if q.Has("configured") {
		v, err := strconv.ParseBool(q.Get("configured"))
		if err != nil {
			writeError(w, http.StatusBadRequest,
				fmt.Sprintf("configured must be true or false, not %q", q.Get("configured")), "configured")
			return
		}
		configured = v
	}
	// One more than asked tells whether the list is truncated.
	var all []fairmesh.ClientStatus
	if configured {
		all = h.configuredClients(limit + 1)
	} else {
		all = h.node.Clients(limit + 1)
	}
	resp := ClientList{Clients: make([]Client, 0, min(len(all), limit))}
	if len(all) > limit {
		resp.Truncated = true
		all = all[:limit]
	}
	for _, cs := range all {
		resp.Clients = append(resp.Clients, clientJSON(cs))
	}
	slices.SortFunc(resp.Clients, func(a, b Client) int { return strings.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, resp)
}

// configuredClients returns up to limit clients with a config of their
// own, in ID order.
func (h *handler) configuredClients(limit int) []fairmesh.ClientStatus {
	var out []fairmesh.ClientStatus
	last := ""
	for _, reg := range h.node.ConfigRegisters() {
		if reg.Deleted || reg.ClientID == last {
			continue
		}
		last = reg.ClientID
		if len(out) == limit {
			break
		}
		if cs, err := h.node.Client(reg.ClientID); err == nil && cs.Config.Configured {
			out = append(out, cs)
		}
	}
	return out
}

func clientState(cs fairmesh.ClientStatus) string {
	switch {
	case cs.Config.Configured:
		return "configured"
	case cs.Tracked:
		return "tracked"
	}
	return "unknown"
}

func clientJSON(cs fairmesh.ClientStatus) Client {
	cfg := ClientConfig{
		Weight:     cs.Config.Weight,
		Limited:    cs.Config.Limited,
		Configured: cs.Config.Configured,
		OwnWeight:  cs.Config.OwnWeight,
		OwnLimit:   cs.Config.OwnLimit,
	}
	if cs.Config.Limited {
		rate := cs.Config.Rate
		cfg.Rate = &rate
		cfg.Period = cs.Config.Period.String()
	}
	return Client{
		ID:           cs.ID,
		Config:       cfg,
		Allowance:    cs.Allowance,
		Slice:        cs.Slice,
		Admitted:     cs.Admitted,
		Denied:       cs.Denied,
		PrevAdmitted: cs.PrevAdmitted,
		PrevDenied:   cs.PrevDenied,
		MeshDemand:   cs.MeshDemand,
		Window:       cs.Config.Period.String(),
		State:        clientState(cs),
	}
}
