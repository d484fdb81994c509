// Package bucket holds a node's local admission state: one Entry per tracked
// client, in a sharded table whose lookups take no lock, and the lock-free
// Admit fast path that counts attempts and admissions per window.
//
// The table knows nothing of fair shares or of the mesh. Its owner (the
// fairmesh Node) decides each client's Policy — the window length and how
// many requests this node may admit in a window — and publishes it with
// Entry.SetPolicy; Admit reads it with one atomic load, so a decision sees
// either the whole old or the whole new policy, never a mix.
//
// Time is always an argument (Unix nanoseconds of mesh time). A clock that
// steps backwards cannot reopen a window: an entry never leaves the newest
// window it has counted in.
package bucket
