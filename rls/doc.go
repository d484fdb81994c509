// Package rls serves Envoy's rate limit service
// (envoy.service.ratelimit.v3.RateLimitService) from a fairmesh Node, so
// that Envoy (and Istio, Gloo, Contour, Emissary) can ask a fairmesh mesh
// instead of envoyproxy/ratelimit and its Redis.
//
// Envoy sends a domain and descriptors, each a list of key/value entries.
// Rules say which descriptors are limited: a rule names a domain and the
// keys of a descriptor, in order, and a descriptor that matches one is the
// fairmesh client "domain/key1=value1/key2=value2" (domain edge, keys
// tenant and path: edge/tenant=acme/path=/v1/search), decided by the Node
// like any other client, with the mesh's weights, limits and capacity. A
// descriptor no rule matches is not limited, as envoyproxy/ratelimit does.
package rls
