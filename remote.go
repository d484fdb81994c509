package fairmesh

import (
	"slices"
	"strings"

	"github.com/fairmesh/fairmesh/bucket"
)

// nodeReports is what one other node last reported of a client: its two
// newest window reports. Merging keeps the two newest windows and the
// maximum counts per window, so loss, duplication and reordering do no harm.
type nodeReports struct {
	node         string
	newest, prev bucket.Report
}

// merge reports whether x told anything new.
func (r *nodeReports) merge(x bucket.Report) bool {
	before := *r
	switch {
	case x.Window > r.newest.Window:
		r.prev, r.newest = r.newest, x
	case x.Window == r.newest.Window:
		r.newest.Demand = max(r.newest.Demand, x.Demand)
		r.newest.Admitted = max(r.newest.Admitted, x.Admitted)
	case x.Window > r.prev.Window:
		r.prev = x
	case x.Window == r.prev.Window:
		r.prev.Demand = max(r.prev.Demand, x.Demand)
		r.prev.Admitted = max(r.prev.Admitted, x.Admitted)
	}
	return *r != before
}

// remoteClient is the demand other nodes reported for one client.
type remoteClient struct {
	nodes []nodeReports // sorted by node
	share float64       // fair share when not tracked locally (req/s)
	epoch uint64
	ahead int64 // as bucket.Cold.Ahead, for a client not tracked here
}

// find is where node's reports are, or would be inserted, in rc.nodes.
func (rc *remoteClient) find(node string) (int, bool) {
	return slices.BinarySearchFunc(rc.nodes, node, func(r nodeReports, id string) int {
		return strings.Compare(r.node, id)
	})
}

// of returns node's reports, or nil.
func (rc *remoteClient) of(node string) *nodeReports {
	i, ok := rc.find(node)
	if !ok {
		return nil
	}
	return &rc.nodes[i]
}

// upsert returns node's reports, adding empty ones in order if absent.
func (rc *remoteClient) upsert(node string) *nodeReports {
	if r := rc.of(node); r != nil {
		return r
	}
	i, _ := rc.find(node)
	none := bucket.Report{Window: -1}
	rc.nodes = slices.Insert(rc.nodes, i, nodeReports{node: node, newest: none, prev: none})
	return &rc.nodes[i]
}
