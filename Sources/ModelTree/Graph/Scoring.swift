public struct TreeScore: Sendable {
    /// The true root of this tree.
    public var root: String
    public var correct: Int
    public var total: Int
    public var accuracy: Double { total == 0 ? 1 : Double(correct) / Double(total) }
}

public struct Score: Sendable {
    /// Per true tree, ordered by root id.
    public var trees: [TreeScore]
    public var correct: Int
    public var total: Int
    public var accuracy: Double { total == 0 ? 1 : Double(correct) / Double(total) }
    /// Adjusted Rand index between recovered and true tree membership.
    public var adjustedRandIndex: Double
}

extension ModelGraph {
    /// The graph scored against `truth` (`Scoring.score`, on the primary parents).
    public func score(against truth: Truth) throws -> Score {
        try Scoring.score(ids: ids, parent: parents, truth: truth)
    }
}

public enum Scoring {
    /// Scores a recovered graph: an edge counts when the recovered parent of the true child is the true parent.
    ///
    /// As in Horwitz et al. (ICLR 2025), an edge is correct only when both its placement and its
    /// direction are right: recovering child → parent instead of parent → child counts as wrong.
    /// The true trees are the connected components of the truth's edges, plus a tree of one for
    /// every id in `truth.roots` without edges; each is named by its root (the member without a
    /// true parent) and listed in `Score.trees` ordered by that name (String order). Models in
    /// `ids` that the truth does not mention count as trees of one for the adjusted Rand index,
    /// which compares the recovered trees (connected components of `parent`) with the true trees
    /// over all of `ids`; they are not listed in `Score.trees`.
    ///
    /// - Complexity: O(n + e) expected, for n ids and e truth edges.
    /// - Parameters: ids and parent (−1 = root) of the recovered graph.
    /// - Throws: `ModelTreeError.invalidArgument` when the truth names ids that are not in `ids`,
    ///   when `ids` repeats an id, when `parent` has another length than `ids` or an index out of
    ///   range, or when the truth's edges are not a forest (a child with two parents, a cycle).
    public static func score(ids: [String], parent: [Int], truth: Truth) throws -> Score {
        let n = ids.count
        guard parent.count == n else {
            throw ModelTreeError.invalidArgument("score: \(parent.count) parents for \(n) ids")
        }
        var index: [String: Int] = [:]
        for (k, id) in ids.enumerated() {
            guard index.updateValue(k, forKey: id) == nil else {
                throw ModelTreeError.invalidArgument("score: id \(id) appears twice")
            }
        }
        if let bad = parent.firstIndex(where: { $0 < -1 || $0 >= n }) {
            throw ModelTreeError.invalidArgument("score: parent[\(bad)] = \(parent[bad]) is out of range")
        }
        let named = truth.edges.flatMap { [$0.parent, $0.child] } + truth.roots
        var unknown: [String] = []
        var reported: Set<String> = []
        for id in named where index[id] == nil && reported.insert(id).inserted { unknown.append(id) }
        if !unknown.isEmpty {
            let shown = unknown.prefix(10).joined(separator: ", ")
            let more = unknown.count > 10 ? " and \(unknown.count - 10) more" : ""
            throw ModelTreeError.invalidArgument("score: the truth names ids that are not among the models: \(shown)\(more)")
        }
        let (trueParent, problem) = truth._parents()
        if let problem { throw ModelTreeError.invalidArgument("score: truth: \(problem)") }

        // True trees: each model's true root (models the truth does not mention are their own root).
        var trueRoot = [Int](repeating: -1, count: n)
        for k in 0..<n where trueRoot[k] < 0 {
            var chain = [k]
            var node = k
            while trueRoot[node] < 0, let up = trueParent[ids[node]] {
                node = index[up]!
                chain.append(node)
            }
            let root = trueRoot[node] >= 0 ? trueRoot[node] : node
            for member in chain { trueRoot[member] = root }
        }

        var perRoot: [Int: TreeScore] = [:]
        for id in truth.roots { perRoot[index[id]!] = TreeScore(root: id, correct: 0, total: 0) }
        for edge in truth.edges {
            let child = index[edge.child]!
            let root = trueRoot[child]
            var tree = perRoot[root] ?? TreeScore(root: ids[root], correct: 0, total: 0)
            tree.total += 1
            if parent[child] == index[edge.parent]! { tree.correct += 1 }
            perRoot[root] = tree
        }
        let trees = perRoot.values.sorted { $0.root < $1.root }

        var recovered = _DisjointSets(count: n)
        for (child, p) in parent.enumerated() where p >= 0 { recovered.union(p, child) }
        let ari = Clustering.adjustedRandIndex(recovered.labels(), trueRoot)

        return Score(
            trees: trees,
            correct: trees.reduce(0) { $0 + $1.correct },
            total: trees.reduce(0) { $0 + $1.total },
            adjustedRandIndex: ari)
    }
}
