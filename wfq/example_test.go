package wfq_test

import (
	"fmt"

	"github.com/fairmesh/fairmesh/wfq"
)

func ExampleAllocate() {
	claims := []wfq.Claim{
		{Weight: 2, Demand: 5000},           // saturating, weight 2
		{Weight: 1, Demand: 5000},           // saturating, weight 1
		{Weight: 0, Demand: 400, Floor: 10}, // scavenger: keeps its floor
	}
	shares := wfq.Allocate(1000, claims, nil)
	for _, s := range shares {
		fmt.Printf("%.2f\n", s)
	}
	// Output:
	// 660.00
	// 330.00
	// 10.00
}
