// Package wfq computes weighted max-min fair shares of a capacity
// (water-filling) among clients.
//
// It is the arithmetic of the mesh's fairness promise and nothing else: it
// knows nothing of nodes, networks or time, does no IO, starts no goroutines
// and uses no randomness. Allocate is a pure function, so the simulator's
// checker and a live node compute the same shares from the same inputs.
//
// # Semantics
//
// All quantities are rates in one unit (for example requests per second).
// For a capacity C and claims i with weight w_i, demand, cap and floor:
//
//  1. Effective demand. e_i = min(Demand_i, Cap_i), where Cap_i <= 0, NaN
//     or +Inf means "no cap" and a negative or NaN Demand is read as 0. No
//     client ever gets more than e_i. Negative weights are read as 0, and a
//     negative or NaN Floor as 0. Allocate never panics on any input.
//
//  2. Floors. Every zero-weight client (a scavenger) is first given its
//     floor f_i = min(e_i, Floor_i). If the floors together exceed C they
//     are all scaled by the same factor so that they sum to exactly C
//     (if some floors are +Inf, those share C equally and the rest get 0).
//     Floors of weighted clients are ignored: their guarantee is their
//     weight.
//
//  3. Weighted water-filling. What the floors leave, R = C - Σf, is divided
//     among the weighted clients (w_i > 0) by weighted max-min fairness:
//     each gets min(e_i, λ·w_i) for the water level λ at which the shares
//     sum to R, or λ = +Inf (everyone gets e_i) if Σe_i <= R. A client that
//     wants less than its weighted share gets all it wants and the rest is
//     split among the others in proportion to weight.
//
//  4. Scavenging. What the weighted clients leave unused, L, goes to the
//     zero-weight clients on top of their floors, split equally by
//     unweighted water-filling over what each still wants: scavenger i gets
//     f_i + min(e_i - f_i, μ) for the level μ at which the extras sum to L
//     (μ = +Inf if everyone fits). Note that the extra is split equally, not
//     the total: a larger floor is kept on top of an equal extra.
//     While any weighted client is short of its e_i, L = 0 and scavengers
//     get exactly their floors.
//
// # Guarantees
//
// Up to floating-point rounding (relative 1e-9 of C):
//
//   - Σ out <= C, and 0 <= out_i <= e_i.
//   - Work conservation: Σ out = min(C, Σ e_i).
//   - Weighted clients left short of their demand share one water level:
//     out_i / w_i is the same for all of them and no smaller than out_j / w_j
//     for any satisfied weighted client j. Two saturating clients with
//     weights 2 and 1 get 2/3 and 1/3 of C.
//   - A zero-weight client gets at least its (possibly scaled) floor, so it
//     never starves while it has a floor and C > 0.
//   - Shares do not depend on the order of claims.
//
// # Use
//
// A caller that recomputes shares every window keeps one slice and passes
// it back, so that steady state allocates nothing:
//
//	var shares []float64
//	for each window {
//		claims = claims[:0]
//		for each active client {
//			claims = append(claims, wfq.Claim{Weight: w, Demand: d, Cap: limit, Floor: floor})
//		}
//		shares = wfq.Allocate(capacity, claims, shares)
//	}
package wfq
