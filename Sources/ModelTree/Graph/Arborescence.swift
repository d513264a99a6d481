/// Minimum-cost spanning arborescences (directed spanning trees) over dense cost matrices.
public enum Arborescence {
    /// Minimum spanning arborescence with a free root (Chu-Liu/Edmonds).
    ///
    /// Chu & Liu 1965, Edmonds 1967 ("Optimum branchings"), in the dense form that contracts one
    /// cycle at a time in place (Tarjan 1977 notes the O(n²) bound for dense graphs); no recursion.
    ///
    /// The root is free: a virtual super-root gets an edge to every node, and those edges cost
    /// "one unit of a higher order" — costs are compared as pairs (super-root edges used, total),
    /// lexicographically. Edmonds' algorithm is correct over any totally ordered abelian group, so
    /// the optimum first uses as few super-root edges as possible and then has the least total.
    /// Exactly one super-root edge means a spanning arborescence with one root; more than one means
    /// none exists. No "very large" number is involved, so nothing can overflow or be outbid.
    /// The reduced costs are differences of costs: optimal up to their rounding (exact for costs
    /// that are integers of moderate size), and costs near `Double.greatestFiniteMagnitude` are
    /// first scaled by a power of two so that those differences stay finite.
    ///
    /// Ties are broken by lowest index at every choice (lowest parent for a node's cheapest incoming
    /// edge, lowest node when scanning for a cycle), so the same input always gives the same output.
    ///
    /// - Complexity: O(n²) time: each contraction of a cycle C costs O(n·|C|) and the |C| sum to
    ///   at most 2n; about 16·n² bytes of working memory.
    /// - Parameter cost: `cost[i, j]` is the cost of the edge parent i → child j; the diagonal is
    ///   ignored; a cost that is not finite (`.infinity`, `-.infinity`, NaN) forbids the edge.
    ///   Finite costs may be negative.
    /// - Returns: `parent[j]` = i, or −1 for the single root; nil when no spanning arborescence
    ///   exists (some node cannot be reached from any single root over allowed edges).
    public static func minimum(cost: SquareMatrix<Double>) -> [Int]? {
        let n = cost.count
        if n == 0 { return [] }
        if n == 1 { return [-1] }
        var graph = _DenseContraction(cost: cost)
        return graph.solve()
    }
}

/// The working state of Chu-Liu/Edmonds on a dense matrix, contracted in place.
///
/// Matrix indices 0..<n are the models, index n is the super-root R. A contracted cycle lives on at
/// the index of its smallest member; the other members are marked dead. Every edge remembers the
/// original edge it stands for, and every node has an id in a contraction forest (ids 0...n are the
/// original nodes, later ids are cycles) so that the expansion can undo the contractions in reverse.
struct _DenseContraction {
    let n: Int
    /// Matrix side: n models + the super-root.
    let size: Int
    var root: Int { n }
    /// `weight[u * size + v]`: current (reduced) cost of u → v; `.infinity` = no edge.
    var weight: [Double]
    /// The original parent and child of the edge that u → v stands for.
    var originParent: [Int32]
    var originChild: [Int32]
    var alive: [Bool]
    /// Cheapest incoming edge of each live node (−1 for the super-root).
    var best: [Int]
    /// Contraction-forest id of the node at each matrix index.
    var idAt: [Int]
    /// Contraction forest: `forestParent[id]` = the cycle id it was contracted into, −1 if none yet.
    var forestParent: [Int]
    var contractions: [_Contraction] = []
    /// Scratch: true for the members of the cycle being contracted.
    var inCycle: [Bool]

    struct _Contraction {
        var id: Int
        var memberIds: [Int]
        /// The original edge of each member's cycle edge, aligned with `memberIds`.
        var cycleEdges: [(parent: Int, child: Int)]
    }

    init(cost: SquareMatrix<Double>) {
        n = cost.count
        size = n + 1
        weight = [Double](repeating: .infinity, count: size * size)
        originParent = [Int32](repeating: -1, count: size * size)
        originChild = [Int32](repeating: -1, count: size * size)
        // Reduced costs are differences of costs, and the super-root's edges accumulate up to about
        // 2n of them: scale by a power of two (exact) when that could overflow.
        var largest = 0.0
        for c in cost.elements where c.isFinite { largest = Swift.max(largest, c.magnitude) }
        let limit = Double.greatestFiniteMagnitude / Double(8 * size)
        var scale = 1.0
        if largest > limit {
            scale = Double(sign: .plus, exponent: -(Int(largest.exponent) - Int(limit.exponent) + 1), significand: 1)
        }
        for u in 0..<n {
            for v in 0..<n where u != v && cost[u, v].isFinite {
                weight[u * size + v] = cost[u, v] * scale
            }
        }
        for u in 0...n {
            for v in 0..<n where u != v {
                originParent[u * size + v] = Int32(u)
                originChild[u * size + v] = Int32(v)
            }
        }
        for v in 0..<n { weight[n * size + v] = 0 }
        alive = [Bool](repeating: true, count: size)
        best = [Int](repeating: -1, count: size)
        idAt = Array(0..<size)
        forestParent = [Int](repeating: -1, count: 2 * size)
        inCycle = [Bool](repeating: false, count: size)
    }

    /// Whether u → v beats the current best u′ → v: (uses the super-root, cost) lexicographically;
    /// equal keys keep the earlier (lower) index, since candidates are scanned in ascending order.
    func _better(_ u: Int, than current: Int, into v: Int) -> Bool {
        if current < 0 { return true }
        let uIsRoot = u == root, currentIsRoot = current == root
        if uIsRoot != currentIsRoot { return !uIsRoot }
        return weight[u * size + v] < weight[current * size + v]
    }

    /// The cheapest live incoming edge of v; the super-root's edge always exists.
    func _cheapestParent(of v: Int) -> Int {
        var chosen = -1
        for u in 0...n where alive[u] && u != v && weight[u * size + v] < .infinity {
            if _better(u, than: chosen, into: v) { chosen = u }
        }
        return chosen
    }

    /// The first cycle among the `best` pointers, scanning start nodes in ascending order, listed
    /// in ascending index order; nil when the pointers form an arborescence under the super-root.
    func _findCycle() -> [Int]? {
        // 0 = unvisited, otherwise the start node + 1 of the walk that visited it.
        var mark = [Int](repeating: 0, count: size)
        for start in 0..<n where alive[start] && mark[start] == 0 {
            var v = start
            while v != root && mark[v] == 0 {
                mark[v] = start + 1
                v = best[v]
            }
            if v != root && mark[v] == start + 1 {
                var cycle = [v]
                var w = best[v]
                while w != v { cycle.append(w); w = best[w] }
                return cycle.sorted()
            }
        }
        return nil
    }

    mutating func _contract(_ cycle: [Int]) {
        let s = cycle[0]
        for c in cycle { inCycle[c] = true }
        defer { for c in cycle { inCycle[c] = false } }
        let cycleCost = cycle.map { weight[best[$0] * size + $0] }
        let record = _Contraction(
            id: contractions.count + size,
            memberIds: cycle.map { idAt[$0] },
            cycleEdges: cycle.map { c in
                (Int(originParent[best[c] * size + c]), Int(originChild[best[c] * size + c]))
            })
        for u in 0...n where alive[u] && !inCycle[u] {
            // Edges into the cycle: reduced by the cost of the cycle edge they would replace.
            var bestIn = Double.infinity, from = -1
            for (k, c) in cycle.enumerated() {
                let w = weight[u * size + c]
                if w < .infinity && w - cycleCost[k] < bestIn { bestIn = w - cycleCost[k]; from = c }
            }
            // Edges out of the cycle keep their cost.
            var bestOut = Double.infinity, to = -1
            if u != root {
                for c in cycle {
                    let w = weight[c * size + u]
                    if w < bestOut { bestOut = w; to = c }
                }
            }
            let into = u * size + s, out = s * size + u
            if from >= 0 {
                weight[into] = bestIn
                originParent[into] = originParent[u * size + from]
                originChild[into] = originChild[u * size + from]
            } else {
                weight[into] = .infinity
            }
            if to >= 0 {
                weight[out] = bestOut
                originParent[out] = originParent[to * size + u]
                originChild[out] = originChild[to * size + u]
            } else if u != root {
                weight[out] = .infinity
            }
        }
        for c in cycle where c != s { alive[c] = false }
        for id in record.memberIds { forestParent[id] = record.id }
        idAt[s] = record.id
        contractions.append(record)
        // Nodes outside the cycle keep their cheapest cost; only the name of its parent may change.
        for v in 0..<n where alive[v] && !inCycle[v] && best[v] != root && inCycle[best[v]] { best[v] = s }
        best[s] = _cheapestParent(of: s)
    }

    mutating func solve() -> [Int]? {
        // The same choice as `_cheapestParent` for every node, row by row (cache-friendly).
        for u in 0...n {
            for v in 0..<n where u != v && weight[u * size + v] < .infinity && _better(u, than: best[v], into: v) {
                best[v] = u
            }
        }
        while let cycle = _findCycle() { _contract(cycle) }
        // Expand: the edge entering each forest node, as an original edge.
        var entering = [(parent: Int, child: Int)](repeating: (-1, -1), count: size + contractions.count)
        for v in 0..<n where alive[v] {
            let e = best[v] * size + v
            entering[idAt[v]] = (Int(originParent[e]), Int(originChild[e]))
        }
        for record in contractions.reversed() {
            let edge = entering[record.id]
            // The member of this cycle that holds the child of the edge entering the cycle.
            var member = edge.child
            while forestParent[member] != record.id { member = forestParent[member] }
            for (k, id) in record.memberIds.enumerated() {
                entering[id] = id == member ? edge : record.cycleEdges[k]
            }
        }
        var parent = [Int](repeating: -1, count: n)
        var roots = 0
        for v in 0..<n {
            assert(entering[v].child == v, "Arborescence: expansion lost track of node \(v)")
            if entering[v].parent == root { roots += 1 } else { parent[v] = entering[v].parent }
        }
        return roots == 1 ? parent : nil
    }
}
