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
    static func groups(count n: Int, identical: (Int, Int) throws -> Bool) rethrows -> [[Int]] {
        var sets = _DisjointSets(count: n)
        for a in 0..<n { for b in (a + 1)..<n where try identical(a, b) { sets.union(a, b) } }
        let labels = sets.labels()
        var members: [Int: [Int]] = [:]
        for k in 0..<n { members[labels[k], default: []].append(k) }
        return members.values.filter { $0.count > 1 }.sorted { $0[0] < $1[0] }
    }

    // The group's first member (the first in the caller's order: the weights cannot tell an
    // original from its copy, so the caller's order decides, as ties do everywhere else) stands
    // in for the group: only it enters the typed structure and the tree solve
    // (`RelationAnalysis`), and every other member hangs from it by an edge of distance 0 and
    // confidence 0, unsure — a placeholder that the outputs show as the group, never as a
    // derivation.

    /// The placeholder edge from a group's stand-in to another member. Its type is never shown
    /// (outputs show the group); copies of an un-merged adapter are joined by an `adapter` one,
    /// since adapters are compared outside the distance blocks (`AdapterAttachment`).
    static func placeholder(standIn: Int, copy: Int, type: EdgeType = .finetune) -> ModelGraph.Edge {
        ModelGraph.Edge(parent: standIn, child: copy, type: type, distance: 0, confidence: 0, unsure: true)
    }

    /// The warning that names a group (`names` quoted, the stand-in first).
    static func note(_ names: [String]) -> String {
        "models \(names.dropLast().joined(separator: ", ")) and \(names.last!) have identical weights in every tensor used: "
            + "a group of duplicates, in the tree as \(names[0]) (the first given; the weights cannot tell which came first)"
    }

    /// Each model's group's first member, or itself.
    static func standIns(groups: [[Int]], count n: Int) -> [Int] {
        var first = Array(0..<n)
        for g in groups { for m in g { first[m] = g[0] } }
        return first
    }
}
