package crdt

// LWW is a last-writer-wins register: a Value together with the HLC Stamp
// and the Node ID of the write that set it.
//
// Registers are ordered by Stamp, then by Node (the greater node ID wins a
// tie), so merging the same set of writes in any order, any grouping and any
// number of times leaves every replica with the same winner. This relies on
// each (Stamp, Node) pair naming a single write, which holds when every node
// stamps its writes with its own [HLC]: two writes that differ only in Value
// are not ordered, and the one held first is kept.
//
// The zero value is an empty register that loses to any write with a non-zero
// Stamp or a non-empty Node. An LWW is a plain value, not safe for concurrent
// mutation; Value is copied shallowly by Merge.
type LWW[T any] struct {
	Value T
	Stamp Timestamp
	Node  string
}

// Newer reports whether r wins over o: r's Stamp is greater, or the Stamps
// are equal and r.Node > o.Node.
func (r LWW[T]) Newer(o LWW[T]) bool {
	if c := r.Stamp.compare(o.Stamp); c != 0 {
		return c > 0
	}
	return r.Node > o.Node
}

// Merge adopts o if o is newer than r and reports whether r changed.
func (r *LWW[T]) Merge(o LWW[T]) bool {
	if !o.Newer(*r) {
		return false
	}
	*r = o
	return true
}
