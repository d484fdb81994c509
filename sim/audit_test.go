package sim

import (
	"strings"
	"testing"
)

// The nodes' audit of the mesh is held to the simulator's promise: strip
// the allowance off the split under the available policy, which does
// admit past the capacity, and every node's audit reports it.
func TestAuditOfTheNodesIsChecked(t *testing.T) {
	sc, err := Builtin("partition-available")
	if err != nil {
		t.Fatal(err)
	}
	sc.AllowOverAdmission, sc.ExemptOverAdmission = false, nil
	rep, err := Run(sc)
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]bool{}
	for _, v := range rep.Violations {
		if strings.HasPrefix(v.What, "audit: ") {
			nodes[v.Node] = true
		}
	}
	if len(nodes) != sc.Nodes {
		t.Fatalf("%d of %d nodes' audits reported the split's over-admission: %v", len(nodes), sc.Nodes, rep.Violations)
	}
}
