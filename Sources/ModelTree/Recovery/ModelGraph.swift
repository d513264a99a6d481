/// The result of a recovery: a forest over the models, with a distance and a confidence on every edge.
///
/// Indices refer to `ids`. Immutable; safe to share between threads.
public struct ModelGraph: Sendable {
    public var ids: [String]
    /// Path of each model, nil for models given in memory.
    public var paths: [String?]
    /// Mean excess (Fisher) kurtosis of each model over the tensors used.
    public var kurtosis: [Double]
    /// Parent index of each model, −1 for a root.
    public var parent: [Int]
    /// Distance from each model to its parent (the metric used); NaN for a root.
    public var edgeDistance: [Double]
    /// Confidence in [0, 1] of the edge into each model; NaN for a root.
    public var edgeConfidence: [Double]
    /// Edges not to trust: confidence below 0.2, or in a tree whose direction could not be told
    /// (always false for a root).
    public var unsure: [Bool]
    /// Indices of the roots, one per tree, in the order of `trees`.
    public var roots: [Int]
    /// Members of each tree (ascending index), trees ordered by their smallest member.
    public var trees: [[Int]]
    /// Direction mode used for each tree (never `.auto`).
    public var treeDirections: [DirectionMode]
    /// Whether the direction of each tree was unsure (auto mode could not tell).
    public var treeDirectionUnsure: [Bool]
    /// Names of the tensors used.
    public var tensors: [String]
    /// The metric used (never `.auto`).
    public var metric: Metric
    /// Row-major n × n matrix of pairwise distances in that metric (symmetric, zero diagonal).
    public var distances: [Double]
    /// Notes for the user (skipped tensors, duplicates, unsure decisions).
    public var warnings: [String]

    public var count: Int { ids.count }

    /// Graphs of disjoint groups of models, put together in the caller's model order; pairs in
    /// different groups are at infinite distance. All parts must use the same metric to share a
    /// distance matrix; otherwise the first part's metric is reported and a warning says so.
    static func sideBySide(_ parts: [(members: [Int], graph: ModelGraph)], count n: Int) -> ModelGraph {
        var g = ModelGraph(ids: Array(repeating: "", count: n), paths: Array(repeating: nil, count: n),
                           kurtosis: Array(repeating: .nan, count: n), parent: Array(repeating: -1, count: n),
                           edgeDistance: Array(repeating: .nan, count: n), edgeConfidence: Array(repeating: .nan, count: n),
                           unsure: Array(repeating: false, count: n), roots: [], trees: [], treeDirections: [],
                           treeDirectionUnsure: [], tensors: [], metric: parts[0].graph.metric,
                           distances: Array(repeating: .infinity, count: n * n), warnings: [])
        var trees: [(members: [Int], root: Int, direction: DirectionMode, unsure: Bool)] = []
        var tensors = Set<String>()
        for (members, part) in parts {
            for (local, global) in members.enumerated() {
                g.ids[global] = part.ids[local]
                g.paths[global] = part.paths[local]
                g.kurtosis[global] = part.kurtosis[local]
                g.parent[global] = part.parent[local] >= 0 ? members[part.parent[local]] : -1
                g.edgeDistance[global] = part.edgeDistance[local]
                g.edgeConfidence[global] = part.edgeConfidence[local]
                g.unsure[global] = part.unsure[local]
                for (other, globalOther) in members.enumerated() {
                    g.distances[global * n + globalOther] = part.distances[local * part.count + other]
                }
            }
            for (t, tree) in part.trees.enumerated() {
                trees.append((tree.map { members[$0] }, members[part.roots[t]], part.treeDirections[t], part.treeDirectionUnsure[t]))
            }
            tensors.formUnion(part.tensors)
            g.warnings += part.warnings
            if part.metric != g.metric {
                g.warnings.append("trees use different metrics (\(g.metric.rawValue) and \(part.metric.rawValue)); distances are not comparable across them")
            }
        }
        trees.sort { $0.members[0] < $1.members[0] }
        g.trees = trees.map(\.members)
        g.roots = trees.map(\.root)
        g.treeDirections = trees.map(\.direction)
        g.treeDirectionUnsure = trees.map(\.unsure)
        g.tensors = tensors.sorted()
        return g
    }
}
