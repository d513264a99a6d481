public struct TreeScore: Sendable {
    /// The true root of this tree.
    public var root: String
    public var correct: Int
    public var total: Int
    public var accuracy: Double { total == 0 ? 1 : Double(correct) / Double(total) }
}

/// How many true relations of one kind were recovered with that kind.
public struct RelationScore: Sendable, Equatable {
    /// An `EdgeType` raw value, or "duplicate" for a pair of value-identical models.
    public var type: String
    public var correct: Int
    public var total: Int
    /// NaN when the truth has no relation of this kind.
    public var recall: Double { total == 0 ? .nan : Double(correct) / Double(total) }
}

public struct Score: Sendable {
    /// Per true tree, ordered by root id.
    public var trees: [TreeScore]
    /// True edges whose child's recovered primary parent is the true parent (type not asked).
    public var correct: Int
    public var total: Int
    public var accuracy: Double { total == 0 ? 1 : Double(correct) / Double(total) }
    /// Adjusted Rand index between recovered and true tree (family) membership.
    public var adjustedRandIndex: Double
    /// Typed relations (`Scoring.score`) recovered with parent, child and type right.
    public var typedCorrect: Int = 0
    /// Typed relations the truth holds.
    public var typedTrue: Int = 0
    /// Typed relations the recovered graph reports.
    public var typedReported: Int = 0
    /// Per kind, in `EdgeType` order and then "duplicate"; only kinds the truth holds.
    public var relations: [RelationScore] = []
    /// The audit of the models' claims against the truth's `claims` and `unclaimed`
    /// (`AuditScore.score`); nil when the truth lists neither.
    public var audit: AuditScore? = nil

    /// 1 when nothing is reported.
    public var typedPrecision: Double { typedReported == 0 ? 1 : Double(typedCorrect) / Double(typedReported) }
    /// 1 when the truth holds nothing.
    public var typedRecall: Double { typedTrue == 0 ? 1 : Double(typedCorrect) / Double(typedTrue) }
    public var typedF1: Double {
        let p = typedPrecision, r = typedRecall
        return p + r == 0 ? 0 : 2 * p * r / (p + r)
    }
}

extension ModelGraph {
    /// The graph scored against `truth` (`Scoring.score`, on the primary parents, the typed
    /// edges and the duplicate groups; `AuditScore.score` on the audit).
    public func score(against truth: Truth) throws -> Score {
        let typed = edges.map { (parent: $0.parent, child: $0.child, type: $0.type) }
        var score = try Scoring.score(ids: ids, parent: parents, truth: truth, edges: typed, duplicates: duplicates,
                                      latent: models.map(\.latent))
        score.audit = AuditScore.score(audit, unclaimed: unclaimed, ids: ids, truth: truth)
        return score
    }
}

public enum Scoring {
    /// The name a pair of value-identical models is scored under in `Score.relations`.
    public static let duplicateRelation = "duplicate"

    /// Scores a recovered graph.
    ///
    /// **Edge accuracy** (`correct`/`total`, as in Horwitz et al., ICLR 2025): a true edge counts
    /// when the recovered primary parent of the true child is the true parent; recovering
    /// child → parent instead counts as wrong, and the type is not asked. A merge child has one
    /// true edge per parent, of which its one primary parent can match one.
    ///
    /// **Families**: the true trees are the connected components of the truth's edges, duplicate
    /// groups and latent nodes' children (with the latent node's parent), plus a tree of one for
    /// every id in `truth.roots` without edges. Each is named by its root — a member listed in
    /// `roots`, else a member with no true parent (one that has children first, then in String
    /// order) — and listed in `Score.trees` ordered by that name when it holds true edges or is
    /// listed in `roots`. Models the truth does not mention are trees of one for the adjusted Rand
    /// index, which compares the recovered trees (connected components of `parent`) with the true
    /// ones over all of `ids`.
    ///
    /// **Typed relations** (precision, recall, F1 and recall per kind): the truth's relations are
    /// its edges (parent, child, type), a latent node's edges to its children (`finetune`) and
    /// from its parent, and one `duplicate` per pair of models in a duplicate group; the
    /// recovered ones are `edges` (those inside a recovered duplicate group excepted) and the
    /// pairs of the recovered `duplicates`. Two relations match when their kinds are equal and
    /// their ends are equal, where a model stands for every member of its true duplicate group
    /// ("either copy") and a latent node is known by the set of its children. A recovered edge
    /// between two members of a true duplicate group matches nothing. A recovered latent node
    /// (`latent`) is known by its children too, so it matches a true latent node with the same
    /// children; it is not a model of the collection, so the adjusted Rand index leaves it out.
    ///
    /// - Complexity: O(n + e + d²) expected, for n ids, e edges and duplicate groups of d models.
    /// - Parameters:
    ///   - ids, parent: the recovered graph (−1 = root).
    ///   - edges: its typed edges; nil for `parent`'s edges, each a `finetune`.
    ///   - duplicates: its groups of value-identical models (indices into `ids`).
    ///   - latent: per index of `ids`, whether it is a recovered latent node (empty: none is).
    /// - Throws: `ModelTreeError.invalidArgument` when the truth names ids that are not in `ids`,
    ///   when `ids` repeats an id, when `parent`, `edges` or `duplicates` name an index out of
    ///   range, or when the truth is not a graph of the contract's shape.
    public static func score(ids: [String], parent: [Int], truth: Truth,
                             edges: [(parent: Int, child: Int, type: EdgeType)]? = nil,
                             duplicates: [[Int]] = [], latent: [Bool] = []) throws -> Score {
        let n = ids.count
        guard latent.isEmpty || latent.count == n else {
            throw ModelTreeError.invalidArgument("score: \(latent.count) latent flags for \(n) ids")
        }
        let isLatent = { (k: Int) in !latent.isEmpty && latent[k] }
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
        let recoveredEdges = edges ?? parent.enumerated().compactMap { c, p in p < 0 ? nil : (p, c, EdgeType.finetune) }
        if let bad = recoveredEdges.first(where: { !(0..<n).contains($0.parent) || !(0..<n).contains($0.child) }) {
            throw ModelTreeError.invalidArgument("score: edge \(bad.parent) -> \(bad.child) is out of range")
        }
        if let bad = duplicates.joined().first(where: { !(0..<n).contains($0) }) {
            throw ModelTreeError.invalidArgument("score: duplicate group member \(bad) is out of range")
        }
        var unknown: [String] = []
        var reported: Set<String> = []
        for id in truth.namedIDs where index[id] == nil && reported.insert(id).inserted { unknown.append(id) }
        if !unknown.isEmpty {
            let shown = unknown.prefix(10).joined(separator: ", ")
            let more = unknown.count > 10 ? " and \(unknown.count - 10) more" : ""
            throw ModelTreeError.invalidArgument("score: the truth names ids that are not among the models: \(shown)\(more)")
        }
        let (trueParents, problem) = truth._parents()
        if let problem { throw ModelTreeError.invalidArgument("score: truth: \(problem)") }

        // True families: components of every relation the truth states.
        var families = _DisjointSets(count: n)
        for e in truth.edges { families.union(index[e.parent]!, index[e.child]!) }
        for group in truth.duplicates { for id in group.dropFirst() { families.union(index[group[0]]!, index[id]!) } }
        for node in truth.latent {
            for id in node.children.dropFirst() { families.union(index[node.children[0]]!, index[id]!) }
            if let p = node.parent { families.union(index[p]!, index[node.children[0]]!) }
        }
        let trueLabel = families.labels()
        var hasChildren = Set<String>(truth.edges.map(\.parent))
        for node in truth.latent { if let p = node.parent { hasChildren.insert(p) } }
        let listedRoots = Set(truth.roots)
        // The root naming each family: listed, else parentless with children, else the least parentless id.
        var rootOf: [Int: Int] = [:]
        func better(_ a: Int, than b: Int) -> Bool {
            func rank(_ k: Int) -> Int {
                listedRoots.contains(ids[k]) ? 0 : (trueParents[ids[k]] == nil ? (hasChildren.contains(ids[k]) ? 1 : 2) : 3)
            }
            return (rank(a), ids[a]) < (rank(b), ids[b])
        }
        for k in 0..<n {
            if let r = rootOf[trueLabel[k]], !better(k, than: r) { continue }
            rootOf[trueLabel[k]] = k
        }

        // Edge accuracy, per true family.
        var perRoot: [Int: TreeScore] = [:]
        for id in truth.roots { let r = rootOf[trueLabel[index[id]!]]!; perRoot[r] = TreeScore(root: ids[r], correct: 0, total: 0) }
        for edge in truth.edges {
            let child = index[edge.child]!
            let root = rootOf[trueLabel[child]]!
            var tree = perRoot[root] ?? TreeScore(root: ids[root], correct: 0, total: 0)
            tree.total += 1
            if parent[child] == index[edge.parent]! { tree.correct += 1 }
            perRoot[root] = tree
        }
        let trees = perRoot.values.sorted { $0.root < $1.root }

        var recovered = _DisjointSets(count: n)
        for (child, p) in parent.enumerated() where p >= 0 { recovered.union(p, child) }
        let models = (0..<n).filter { !isLatent($0) }
        let recoveredLabels = recovered.labels(), trueLabels = trueLabel
        let ari = Clustering.adjustedRandIndex(models.map { recoveredLabels[$0] }, models.map { trueLabels[$0] })

        var score = Score(trees: trees, correct: trees.reduce(0) { $0 + $1.correct },
                          total: trees.reduce(0) { $0 + $1.total }, adjustedRandIndex: ari)
        _scoreRelations(&score, ids: ids, index: index, truth: truth, edges: recoveredEdges, duplicates: duplicates, isLatent: isLatent)
        return score
    }

    /// One end of a relation: a model (standing for its true duplicate group) or a latent node.
    private enum _End: Hashable {
        case model(Int)
        case latent(Set<Int>)
    }

    /// A relation as the typed score compares it: ends in order for an edge, sorted for a pair.
    private struct _Relation: Hashable {
        var kind: String
        var from: _End
        var to: _End
    }

    /// The typed part of `score` (see there).
    private static func _scoreRelations(_ score: inout Score, ids: [String], index: [String: Int], truth: Truth,
                                        edges: [(parent: Int, child: Int, type: EdgeType)], duplicates: [[Int]],
                                        isLatent: (Int) -> Bool) {
        // Each model stands for its true duplicate group, named by the group's least index.
        var standIn = Array(0..<ids.count)
        for group in truth.duplicates {
            let members = group.map { index[$0]! }
            let least = members.min()!
            for m in members { standIn[m] = least }
        }
        func pair(_ a: Int, _ b: Int) -> _Relation {
            _Relation(kind: duplicateRelation, from: .model(Swift.min(a, b)), to: .model(Swift.max(a, b)))
        }

        var truthRelations = Set<_Relation>()
        for e in truth.edges {
            truthRelations.insert(_Relation(kind: e.type.rawValue, from: .model(standIn[index[e.parent]!]), to: .model(standIn[index[e.child]!])))
        }
        for node in truth.latent {
            let children = node.children.map { standIn[index[$0]!] }
            let latent = _End.latent(Set(children))
            for c in Set(children) { truthRelations.insert(_Relation(kind: EdgeType.finetune.rawValue, from: latent, to: .model(c))) }
            if let p = node.parent {
                truthRelations.insert(_Relation(kind: EdgeType.finetune.rawValue, from: .model(standIn[index[p]!]), to: latent))
            }
        }
        for group in truth.duplicates {
            let members = group.map { index[$0]! }
            for a in members.indices { for b in members.indices where a < b { truthRelations.insert(pair(members[a], members[b])) } }
        }

        var groupOf = [Int](repeating: -1, count: ids.count)
        for (g, group) in duplicates.enumerated() { for m in group { groupOf[m] = g } }
        // A recovered latent node is known by its children (their true groups' stand-ins).
        var latentChildren: [Int: Set<Int>] = [:]
        for e in edges where isLatent(e.parent) && !isLatent(e.child) { latentChildren[e.parent, default: []].insert(standIn[e.child]) }
        func end(_ k: Int) -> _End { isLatent(k) ? .latent(latentChildren[k] ?? []) : .model(standIn[k]) }
        var reportedRelations = Set<_Relation>()
        var unmatchable = 0          // edges between copies of one true group: reported, never right
        for e in edges where groupOf[e.parent] < 0 || groupOf[e.parent] != groupOf[e.child] {
            let (p, c) = (end(e.parent), end(e.child))
            if p == c { unmatchable += 1; continue }
            reportedRelations.insert(_Relation(kind: e.type.rawValue, from: p, to: c))
        }
        for group in duplicates {
            for a in group.indices { for b in group.indices where a < b { reportedRelations.insert(pair(group[a], group[b])) } }
        }

        let right = truthRelations.intersection(reportedRelations)
        score.typedCorrect = right.count
        score.typedTrue = truthRelations.count
        score.typedReported = reportedRelations.count + unmatchable
        let kinds = EdgeType.allCases.map(\.rawValue) + [duplicateRelation]
        score.relations = kinds.compactMap { kind in
            let total = truthRelations.filter { $0.kind == kind }.count
            return total == 0 ? nil : RelationScore(type: kind, correct: right.filter { $0.kind == kind }.count, total: total)
        }
    }
}
