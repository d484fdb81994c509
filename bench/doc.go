// Package bench compares fairmesh's Allow with peers, in the same run.
// It is its own Go module so that the main module does not depend on the
// peers it is measured against.
//
//	cd bench && go test -run '^$' -bench . -benchmem -cpu 1,2 -count 6
package bench
