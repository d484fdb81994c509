module github.com/fairmesh/fairmesh/bench

go 1.26.0

require (
	github.com/cespare/xxhash/v2 v2.3.0
	github.com/fairmesh/fairmesh v0.0.0
	golang.org/x/time v0.16.0
)

require (
	github.com/vmihailenco/msgpack/v5 v5.4.1 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
)

replace github.com/fairmesh/fairmesh => ../
