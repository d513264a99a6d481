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
    /// Edges whose confidence is too low to trust (always false for a root).
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
}
