// OWNER: graph helper. Stub signatures; replace the bodies.

public enum Arborescence {
    /// Minimum spanning arborescence with a free root (Chu-Liu/Edmonds).
    /// - Parameter cost: n×n, `cost[i][j]` is the cost of the edge parent i → child j; the diagonal is
    ///   ignored; `.infinity` forbids an edge.
    /// - Returns: `parent[j]` = i, or -1 for the single root; nil when no spanning arborescence exists.
    public static func minimum(cost: [[Double]]) -> [Int]? { fatalError("stub") }
}
