/// Choosing among candidate parents the weights cannot tell apart (an adapter's base, a layer
/// subset's source, margins of 1e-4 on zoo 1 between a base, its 40-step fine-tune and its int8
/// export): the one that is an ancestor of the others in the recovered tree. The model an adapter
/// or a subset was made from is more often the published base than its tiny fine-tune or its
/// export, and once the tree is directed right (`UntouchedRows`) the base is their ancestor. The
/// choice stays unsure and the runner-up is still named: it is a prior, not evidence.
enum NearIdenticalCandidates {
    /// The one of `candidates` (model indices) that is an ancestor of every other one along the
    /// graph's primary edges; nil when none is (or fewer than two are given).
    static func ancestor(among candidates: [Int], in graph: ModelGraph) -> Int? {
        guard candidates.count > 1 else { return nil }
        return candidates.first { a in candidates.allSatisfy { $0 == a || isAncestor(a, of: $0, in: graph) } }
    }

    /// Whether `a` is met going up from `b` along primary edges (a merge's first parent, a
    /// duplicate's stand-in).
    static func isAncestor(_ a: Int, of b: Int, in graph: ModelGraph) -> Bool {
        var seen: Set<Int> = [b]
        var m = b
        while let p = graph.primaryParent(of: m), seen.insert(p).inserted {
            if p == a { return true }
            m = p
        }
        return false
    }
}
