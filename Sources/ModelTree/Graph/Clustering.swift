/// Grouping models into trees from a similarity matrix, and comparing two groupings.
public enum Clustering {
    /// Single linkage on a symmetric similarity matrix: the connected components of the graph with
    /// an edge wherever `similarity[i][j] > threshold`. Components sorted by smallest member, members ascending.
    ///
    /// - Complexity: O(n²).
    /// - Parameters:
    ///   - similarity: only the upper triangle (i < j) is read. NaN never links.
    ///   - threshold: pairs strictly more similar than this are linked.
    public static func components(similarity: SquareMatrix<Double>, threshold: Double) -> [[Int]] {
        let n = similarity.count
        var sets = _DisjointSets(count: n)
        for i in 0..<n {
            for j in (i + 1)..<n where _link(similarity, i, j) > threshold { sets.union(i, j) }
        }
        return sets.groups()
    }

    /// Single linkage forced to `k` clusters: the maximum spanning forest of `similarity` with its
    /// k−1 weakest links cut. Same ordering as `components`. Precondition 1 ≤ k ≤ n.
    ///
    /// The maximum spanning tree comes from Prim's algorithm on the dense matrix (Prim 1957), grown
    /// from node 0, each step taking the most similar link out of the tree (ties: lowest node, then
    /// the earliest tree node). Its links are then kept from strongest to weakest, equal similarities
    /// in (smaller end, larger end) order, until k clusters are left. NaN counts as the weakest.
    ///
    /// - Complexity: O(n²) time, O(n) memory beyond the matrix.
    /// - Parameters:
    ///   - similarity: only the upper triangle (i < j) is read.
    ///   - k: the number of clusters wanted; with n = 0 the result is `[]` whatever k.
    public static func cut(similarity: SquareMatrix<Double>, into k: Int) -> [[Int]] {
        let n = similarity.count
        if n == 0 { return [] }
        precondition(k >= 1 && k <= n, "Clustering.cut: k must be in 1...n")
        func link(_ i: Int, _ j: Int) -> Double {
            let s = i < j ? _link(similarity, i, j) : _link(similarity, j, i)
            return s.isNaN ? -.infinity : s
        }
        // Prim: the strongest link from the tree to every node outside it.
        var inTree = [Bool](repeating: false, count: n)
        var strongest = [Double](repeating: -.infinity, count: n)
        var from = [Int](repeating: 0, count: n)
        var links: [(similarity: Double, i: Int, j: Int)] = []
        links.reserveCapacity(n - 1)
        var added = 0
        for step in 0..<n {
            if step > 0 {
                var next = -1
                for v in 0..<n where !inTree[v] && (next < 0 || strongest[v] > strongest[next]) { next = v }
                added = next
                links.append((strongest[next], Swift.min(next, from[next]), Swift.max(next, from[next])))
            }
            inTree[added] = true
            for v in 0..<n where !inTree[v] {
                let s = link(added, v)
                if s > strongest[v] { strongest[v] = s; from[v] = added }
            }
        }
        links.sort { a, b in
            if a.similarity != b.similarity { return a.similarity > b.similarity }
            return a.i != b.i ? a.i < b.i : a.j < b.j
        }
        var sets = _DisjointSets(count: n)
        for link in links.prefix(n - k) { sets.union(link.i, link.j) }
        return sets.groups()
    }

    /// Adjusted Rand index (Hubert & Arabie 1985) of two labelings of the same items.
    ///
    /// ARI = (Σᵢⱼ C(nᵢⱼ,2) − E) / (½(Σᵢ C(aᵢ,2) + Σⱼ C(bⱼ,2)) − E), E = Σᵢ C(aᵢ,2)·Σⱼ C(bⱼ,2) / C(n,2),
    /// over the contingency table nᵢⱼ with row sums aᵢ and column sums bⱼ. Labels are names only:
    /// labelings that make the same partition score 1. The denominator is zero only when both
    /// labelings put every item alone or both put all items together (or n < 2); those are identical
    /// partitions and score 1 by convention (as scikit-learn does). Values can be negative.
    ///
    /// - Complexity: O(n) expected.
    /// - Precondition: `a.count == b.count`.
    public static func adjustedRandIndex(_ a: [Int], _ b: [Int]) -> Double {
        precondition(a.count == b.count, "Clustering.adjustedRandIndex: labelings of different lengths")
        var joint: [Pair: Int] = [:], rows: [Int: Int] = [:], columns: [Int: Int] = [:]
        for (x, y) in zip(a, b) {
            joint[Pair(a: x, b: y), default: 0] += 1
            rows[x, default: 0] += 1
            columns[y, default: 0] += 1
        }
        func pairs(_ m: Int) -> Double { Double(m) * Double(m - 1) / 2 }
        let index = joint.values.reduce(0) { $0 + pairs($1) }
        let rowPairs = rows.values.reduce(0) { $0 + pairs($1) }
        let columnPairs = columns.values.reduce(0) { $0 + pairs($1) }
        let expected = a.count < 2 ? 0 : rowPairs * columnPairs / pairs(a.count)
        let maximum = (rowPairs + columnPairs) / 2
        if maximum == expected { return 1 }
        return (index - expected) / (maximum - expected)
    }

    private struct Pair: Hashable { var a: Int, b: Int }

    /// The similarity that links i and j (i < j): the upper triangle.
    static func _link(_ similarity: SquareMatrix<Double>, _ i: Int, _ j: Int) -> Double { similarity[i, j] }
}

/// Union-find with path halving and union by size; `groups()` lists sets by smallest member.
struct _DisjointSets {
    private var parent: [Int]
    private var size: [Int]

    init(count: Int) {
        parent = Array(0..<count)
        size = [Int](repeating: 1, count: count)
    }

    mutating func find(_ x: Int) -> Int {
        var x = x
        while parent[x] != x {
            parent[x] = parent[parent[x]]
            x = parent[x]
        }
        return x
    }

    /// Joins the sets of x and y; false when they were already one set.
    @discardableResult
    mutating func union(_ x: Int, _ y: Int) -> Bool {
        var rx = find(x), ry = find(y)
        if rx == ry { return false }
        if size[rx] < size[ry] { swap(&rx, &ry) }
        parent[ry] = rx
        size[rx] += size[ry]
        return true
    }

    /// Every set, members ascending, sets ordered by their smallest member.
    mutating func groups() -> [[Int]] {
        var slot = [Int](repeating: -1, count: parent.count)
        var result: [[Int]] = []
        for x in 0..<parent.count {
            let r = find(x)
            if slot[r] < 0 { slot[r] = result.count; result.append([]) }
            result[slot[r]].append(x)
        }
        return result
    }

    /// A label per element: the index of its set in `groups()`.
    mutating func labels() -> [Int] {
        var labels = [Int](repeating: 0, count: parent.count)
        for (k, group) in groups().enumerated() { for x in group { labels[x] = k } }
        return labels
    }
}
