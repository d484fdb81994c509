// Package e2e is fairmesh's fault suite on real hosts: five `fairmesh
// serve` processes in Docker containers, a load generator on the host, and
// faults injected into the containers (kill, pause, partitions and packet
// loss by iptables inside their network namespaces, a wrong gossip key, a
// full stop).
//
// The suite itself is behind the build tag e2e, so that `go test ./...`
// does not start containers:
//
//	go test -tags e2e -count=1 -timeout 15m ./e2e
//
// The checker (check.go) is plain functions over a history of decisions, in
// the spirit of Jepsen's counter checker: it counts admissions per client
// and per window as the replies name the window (window_start_ms), never by
// the load generator's clock. It builds and its unit tests run without the
// tag.
package e2e
