package fairmesh

import (
	"github.com/fairmesh/fairmesh/bucket"
	"slices"
)

// nodeReports is what one other node last reported of a client: its two
// newest window reports. Merging keeps the two newest windows and the
// maximum counts per window, so loss, duplication and reordering do no harm.
type nodeReports struct {
	node         string
	newest, prev bucket.Report
}

func (r *nodeReports) merge(x bucket.Report) {
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
}

// remoteClient is the demand other nodes reported for one client.
type remoteClient struct {
	nodes []nodeReports // sorted by node
	share float64       // fair share when not tracked locally (req/s)
	epoch uint64
}

func (rc *remoteClient) of(node string) *nodeReports {
	i, ok := slices.BinarySearchFunc(rc.nodes, node, func(r nodeReports, id string) int {
		switch {
		case r.node < id:
			return -1
		case r.node > id:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return &rc.nodes[i]
}

func (rc *remoteClient) upsert(node string) *nodeReports {
	if r := rc.of(node); r != nil {
		return r
	}
	i, _ := slices.BinarySearchFunc(rc.nodes, node, func(r nodeReports, id string) int {
		switch {
		case r.node < id:
			return -1
		case r.node > id:
			return 1
		}
		return 0
	})
	none := bucket.Report{Window: -1}
	rc.nodes = slices.Insert(rc.nodes, i, nodeReports{node: node, newest: none, prev: none})
	return &rc.nodes[i]
}
