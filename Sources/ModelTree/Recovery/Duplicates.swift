/// Value-identical models (byte copies, same-precision re-saves, renamed files, an F32 export of
/// an F32 model): a group, not a parent and a child, since nothing in the weights tells which
/// came first.
///
/// Evidence: the streaming pass's sum of squared differences is exactly 0 over every compared
/// tensor. It is exact, not a threshold: the pair kernel squares float differences, and the
/// difference of two unequal finite floats is never 0 (only a difference below about 4e-23,
/// whose square underflows a float, could vanish — no storage rounds weights that finely); the
/// Gram form computes such pairs by the same direct kernel (`KernelSet.addSquaredDistancesGram`).
/// A hash of every tensor would say the same at the cost of another reduction in the pass; the
/// sums are already there. Equality is transitive, so a group is a connected component of the
/// zero pairs.
enum Duplicates {
    /// Groups of two or more of `count` models (ascending indices, groups ordered by their first
    /// member) whose every pair is `identical`.
    static func groups(count n: Int, identical: (Int, Int) -> Bool) -> [[Int]] {
        var sets = _DisjointSets(count: n)
        for a in 0..<n { for b in (a + 1)..<n where identical(a, b) { sets.union(a, b) } }
        let labels = sets.labels()
        var members: [Int: [Int]] = [:]
        for k in 0..<n { members[labels[k], default: []].append(k) }
        return members.values.filter { $0.count > 1 }.sorted { $0[0] < $1[0] }
    }

    /// The edges of a forest over `n` models redrawn so that each group's first member (the
    /// first in the caller's order: the weights cannot tell an original from its copy, so the
    /// caller's order decides, as ties do everywhere else in the recovery) stands in for the
    /// group: it takes the place of the group's member nearest its root (the same weights, so
    /// the same distances), every edge out of a member leaves from it, and every other member
    /// hangs from it by an edge of distance 0 and confidence 0, unsure — a placeholder that the
    /// outputs show as the group, never as a derivation.
    ///
    /// - Returns: the edges, grouped by child. A tree whose root was another member of a group
    ///   now has the group's stand-in (`standIn(of:)`) as its root.
    static func standIn(groups: [[Int]], edges: [ModelGraph.Edge], count n: Int) -> [ModelGraph.Edge] {
        guard !groups.isEmpty else { return edges }
        let first = standIns(groups: groups, count: n)
        var incoming = [ModelGraph.Edge?](repeating: nil, count: n)
        for e in edges where incoming[e.child] == nil { incoming[e.child] = e }
        func depth(_ k: Int) -> Int {
            var d = 0, node = k
            while let e = incoming[node] { d += 1; node = e.parent }
            return d
        }
        // An edge moved onto stand-ins; a runner-up that became its parent or child is dropped.
        func moved(_ e: ModelGraph.Edge, child: Int) -> ModelGraph.Edge {
            var e = e
            e.child = child
            e.parent = first[e.parent]
            if let other = e.evidence?.runnerUp {
                let p = first[other.parent]
                if p == e.parent || p == child { e.evidence?.runnerUp = nil } else { e.evidence?.runnerUp?.parent = p }
            }
            return e
        }
        let standInSet = Set(groups.map { $0[0] })
        var result: [ModelGraph.Edge] = []
        for g in groups {
            // The member nearest the root gives the group its place: its parent is outside the
            // group, and no member's descendant, which all lie deeper, so no cycle can form.
            let top = g.min { (depth($0), $0) < (depth($1), $1) }!
            if let e = incoming[top] { result.append(moved(e, child: g[0])) }
            for m in g.dropFirst() {
                result.append(ModelGraph.Edge(parent: g[0], child: m, type: .finetune, distance: 0, confidence: 0, unsure: true))
            }
        }
        for e in edges where first[e.child] == e.child && !standInSet.contains(e.child) {
            result.append(moved(e, child: e.child))
        }
        // Stable: a child's edges keep their order (its primary edge first).
        return result.enumerated().sorted { ($0.element.child, $0.offset) < ($1.element.child, $1.offset) }.map(\.element)
    }

    /// Each model's group's first member, or itself.
    static func standIns(groups: [[Int]], count n: Int) -> [Int] {
        var first = Array(0..<n)
        for g in groups { for m in g { first[m] = g[0] } }
        return first
    }
}
