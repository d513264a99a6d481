// OWNER: graph helper. Stub signatures; replace the bodies.

public enum Clustering {
    /// Single linkage on a symmetric similarity matrix: the connected components of the graph with
    /// an edge wherever `similarity[i][j] > threshold`. Components sorted by smallest member, members ascending.
    public static func components(similarity: [[Double]], threshold: Double) -> [[Int]] { fatalError("stub") }

    /// Single linkage forced to `k` clusters: the maximum spanning forest of `similarity` with its
    /// k−1 weakest links cut. Same ordering as `components`. Precondition 1 ≤ k ≤ n.
    public static func cut(similarity: [[Double]], into k: Int) -> [[Int]] { fatalError("stub") }

    /// Adjusted Rand index (Hubert & Arabie 1985) of two labelings of the same items.
    public static func adjustedRandIndex(_ a: [Int], _ b: [Int]) -> Double { fatalError("stub") }
}
