// OWNER: graph helper. Stub signatures; replace the bodies.

/// A known Model Graph to score against: `{"edges": [["parent", "child"], ...], "roots": ["id", ...]}`.
public struct Truth: Sendable {
    public var edges: [(parent: String, child: String)]
    public var roots: [String]
    public init(edges: [(parent: String, child: String)], roots: [String]) { self.edges = edges; self.roots = roots }
}

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

public enum Scoring {
    /// Scores a recovered graph: an edge counts when the recovered parent of the true child is the true parent.
    /// - Parameters: ids and parent (−1 = root) of the recovered graph.
    /// - Throws: `ModelTreeError.invalidArgument` when the truth names ids that are not in `ids`.
    public static func score(ids: [String], parent: [Int], truth: Truth) throws -> Score { fatalError("stub") }
}
