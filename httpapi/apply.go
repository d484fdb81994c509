package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/fairmesh/fairmesh"
)

// MaxApplyBytes caps the body of POST /v1/apply (or MaxBodyBytes, when
// that is larger): a config file of tens of thousands of clients.
const MaxApplyBytes = 16 << 20

// applyClients serves POST /v1/apply[?dry_run=true]: the listed clients'
// config becomes what the body says, all of it or none (see
// fairmesh.Node.ApplyClients). The answer lists the changes made, or that
// would be made on a dry run.
func (h *handler) applyClients(w http.ResponseWriter, r *http.Request) {
	dryRun := false
	if q := r.URL.Query(); q.Has("dry_run") {
		v, err := strconv.ParseBool(q.Get("dry_run"))
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("dry_run must be true or false, not %q", q.Get("dry_run")), "dry_run")
			return
		}
		dryRun = v
	}
	var req ApplyRequest
	if bad := decodeBodyMax(w, r, &req, max(h.maxBody, MaxApplyBytes)); bad != nil {
		bad.write(w)
		return
	}
	if req.Clients == nil {
		writeError(w, http.StatusBadRequest, "clients is required (an array; [] with prune removes every client's config)", "clients")
		return
	}
	specs := make([]fairmesh.ClientSpec, len(req.Clients))
	for i, c := range req.Clients {
		field := fmt.Sprintf("clients[%d]", i)
		s := fairmesh.ClientSpec{ID: c.ID, Weight: c.Weight, Rate: c.Rate}
		switch {
		case c.Rate != nil && c.Period == "":
			writeError(w, http.StatusBadRequest, field+": a rate needs a period (a Go duration such as \"1s\")", field+".period")
			return
		case c.Rate == nil && c.Period != "":
			writeError(w, http.StatusBadRequest, field+": a period needs a rate", field+".rate")
			return
		case c.Period != "":
			d, err := time.ParseDuration(c.Period)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: period %q is not a Go duration such as \"1s\"", field, c.Period), field+".period")
				return
			}
			s.Period = d
		}
		specs[i] = s
	}
	changes, err := h.node.ApplyClients(specs, req.Prune, dryRun)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, fairmesh.ErrHashCollision) {
			status = http.StatusConflict
		}
		writeError(w, status, err.Error(), "clients")
		return
	}
	resp := ApplyResponse{Applied: !dryRun, Changes: make([]ClientChange, len(changes))}
	for i, c := range changes {
		resp.Changes[i] = ClientChange{ID: c.ID, Before: settingJSON(c.Before), After: settingJSON(c.After)}
	}
	writeJSON(w, http.StatusOK, resp)
}

func settingJSON(s fairmesh.ClientSetting) ClientSetting {
	out := ClientSetting{Weight: s.Weight, Rate: s.Rate}
	if s.Rate != nil {
		out.Period = s.Period.String()
	}
	return out
}
