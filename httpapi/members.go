package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/fairmesh/fairmesh"
)

// getMembers serves GET /v1/members: Options.Members when set, else the
// Node's view; the answering node is always listed, marked Self.
func (h *handler) getMembers(w http.ResponseWriter, r *http.Request) {
	s := h.node.Status()
	var ms []Member
	if h.members != nil {
		ms = slices.Clone(h.members())
	} else {
		for _, m := range s.Members {
			ms = append(ms, Member{ID: m.ID, State: m.State.String()})
		}
	}
	found := false
	for i := range ms {
		ms[i].Self = ms[i].ID == s.NodeID
		found = found || ms[i].Self
	}
	if !found {
		ms = append(ms, Member{ID: s.NodeID, State: fairmesh.MemberAlive.String(), Self: true})
	}
	slices.SortFunc(ms, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, MemberList{NodeID: s.NodeID, Members: ms})
}

// removeMember serves DELETE /v1/members/{member}: the member is declared
// gone for good, mesh-wide, and the others reclaim its shares at once
// (fairmesh.Node.RemoveMember). 204 when done; 404 for a member this node
// does not know; 409 for one that is alive (or this node itself): stop it
// first.
func (h *handler) removeMember(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("member")
	err := h.node.RemoveMember(id)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, fairmesh.ErrMemberAlive):
		writeError(w, http.StatusConflict, err.Error(), "member")
	default:
		writeError(w, http.StatusNotFound, err.Error(), "member")
	}
}
