// Package httpapi serves a fairmesh Node over HTTP/JSON. It is the API that
// `fairmesh serve` exposes, and a library user mounts the same handler in
// their own server:
//
//	node, err := fairmesh.NewNode(fairmesh.Config{Capacity: 1000})
//	if err != nil { ... }
//	mux := http.NewServeMux()
//	mux.Handle("/v1/", httpapi.New(node, httpapi.Options{AdminToken: token}))
//
// Endpoints (see README.md for examples):
//
//	GET  /v1/allow/{client}?n=K      one decision: 200 admitted, 429 denied
//	POST /v1/allow                   a batch of decisions, in order
//	PUT  /v1/clients/{client}/weight {"weight":3}                    (admin)
//	PUT  /v1/clients/{client}/limit  {"rate":100,"period":"1s"}      (admin)
//	GET  /v1/clients/{client}        one client's config and counters
//	GET  /v1/clients?limit=N         tracked clients, sorted by ID
//	GET  /v1/status                  the node's config, members and counters
//	GET  /v1/members                 the mesh as the node sees it, with addresses
//
// Errors are JSON, {"error": "...", "field": "..."}, where field names the
// offending input (a JSON field such as "weight" or "requests[3].n", a path
// or query parameter such as "client" or "n", "body", or "Authorization").
// 404 and 405 answers for unknown paths and methods come from
// net/http.ServeMux and are plain text.
//
// Only the endpoints that change configuration are guarded by
// Options.AdminToken: the allow endpoints are the hot path of the services
// being protected, and the read endpoints change nothing. Bind the server to
// loopback or a private network accordingly.
//
// The handler is safe for concurrent use, as the Node is. Durations in JSON
// are Go duration strings ("1s", "250ms"), except the allow answers'
// reset_ms, a whole number of milliseconds (rounded up) for callers that
// compute with it.
package httpapi
