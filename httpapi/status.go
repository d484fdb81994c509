package httpapi

import (
	"net/http"
	"time"
)

// getStatus serves GET /v1/status.
func (h *handler) getStatus(w http.ResponseWriter, r *http.Request) {
	s := h.node.Status()
	resp := Status{
		NodeID:         s.NodeID,
		Time:           s.Time.UTC().Format(time.RFC3339Nano),
		ClockOffset:    s.ClockOffset.String(),
		Capacity:       s.Capacity,
		CapacityPeriod: s.CapacityPeriod.String(),
		DefaultRate:    s.DefaultRate,
		DefaultPeriod:  s.DefaultPeriod.String(),
		DefaultWeight:  s.DefaultWeight,
		MinRate:        s.MinRate,
		Partition:      string(s.Partition),
		TrackedClients: s.TrackedClients,
		MaxClients:     s.MaxClients,
		Members:        make([]Member, 0, len(s.Members)),
		Fenced:         s.Fenced,
		Warnings:       append([]string{}, h.warnings...),
		Counters: Counters{
			Admitted:         s.Counters.Admitted,
			Denied:           s.Counters.Denied,
			Overflowed:       s.Counters.Overflowed,
			Evicted:          s.Counters.Evicted,
			MessagesSent:     s.Counters.MessagesSent,
			BytesSent:        s.Counters.BytesSent,
			MessagesReceived: s.Counters.MessagesReceived,
			BytesReceived:    s.Counters.BytesReceived,
			ConfigLocal:      s.Counters.ConfigUpdatesLocal,
			ConfigRemote:     s.Counters.ConfigUpdatesRemote,
			Audit: Audit{
				Windows: s.Counters.Audit.Windows, Incomplete: s.Counters.Audit.Incomplete,
				OverWindows: s.Counters.Audit.OverWindows, OverRequests: s.Counters.Audit.OverRequests,
				LastWindowMS: s.Counters.Audit.LastWindow / 1e6, LastAdmitted: s.Counters.Audit.LastAdmitted,
			},
			DroppedMessages:    s.Counters.DroppedMessages,
			DroppedReports:     s.Counters.DroppedReports,
			Collisions:         s.Counters.Collisions,
			ClockOffsetRejects: s.Counters.ClockOffsetRejects,
			Returned:           s.Counters.Returned,
			RightsLent:         s.Counters.RightsLent,
			RightsBorrowed:     s.Counters.RightsBorrowed,
			NacksSent:          s.Counters.NacksSent,
			ReportsRepaired:    s.Counters.ReportsRepaired,
			Released:           s.Counters.ReservationsReleased,
		},
	}
	for _, m := range s.Members {
		resp.Members = append(resp.Members, Member{ID: m.ID, State: m.State.String()})
	}
	writeJSON(w, http.StatusOK, resp)
}
