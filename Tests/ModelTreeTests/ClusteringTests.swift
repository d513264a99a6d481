import XCTest
@testable import ModelTree

final class ClusteringTests: XCTestCase {
    func symmetric(_ n: Int, _ links: [(Int, Int, Double)], base: Double = 0) -> [[Double]] {
        var s = [[Double]](repeating: [Double](repeating: base, count: n), count: n)
        for i in 0..<n { s[i][i] = 1 }
        for (i, j, v) in links { s[i][j] = v; s[j][i] = v }
        return s
    }

    func testComponents() {
        // 0–3 and 3–5 strong, 1–4 strong, 2 alone; 0–1 weak.
        let s = symmetric(6, [(0, 3, 0.9), (3, 5, 0.8), (1, 4, 0.95), (0, 1, 0.3)])
        XCTAssertEqual(Clustering.components(similarity: s, threshold: 0.5), [[0, 3, 5], [1, 4], [2]])
        XCTAssertEqual(Clustering.components(similarity: s, threshold: 0.2), [[0, 1, 3, 4, 5], [2]])
        // Strictly greater: a link equal to the threshold does not join.
        XCTAssertEqual(Clustering.components(similarity: s, threshold: 0.8), [[0, 3], [1, 4], [2], [5]])
        XCTAssertEqual(Clustering.components(similarity: s, threshold: 1), [[0], [1], [2], [3], [4], [5]])
        XCTAssertEqual(Clustering.components(similarity: [], threshold: 0), [])
        // NaN never links.
        XCTAssertEqual(Clustering.components(similarity: symmetric(2, [(0, 1, .nan)]), threshold: -1), [[0], [1]])
    }

    func testCutIntoK() {
        let s = symmetric(6, [(0, 3, 0.9), (3, 5, 0.8), (1, 4, 0.95), (0, 1, 0.3), (2, 5, 0.1)])
        // Maximum spanning tree: 1–4 .95, 0–3 .9, 3–5 .8, 0–1 .3, 2–5 .1 (the rest are 0).
        XCTAssertEqual(Clustering.cut(similarity: s, into: 1), [[0, 1, 2, 3, 4, 5]])
        XCTAssertEqual(Clustering.cut(similarity: s, into: 2), [[0, 1, 3, 4, 5], [2]])
        XCTAssertEqual(Clustering.cut(similarity: s, into: 3), [[0, 3, 5], [1, 4], [2]])
        XCTAssertEqual(Clustering.cut(similarity: s, into: 4), [[0, 3], [1, 4], [2], [5]])
        XCTAssertEqual(Clustering.cut(similarity: s, into: 6), [[0], [1], [2], [3], [4], [5]])
        XCTAssertEqual(Clustering.cut(similarity: [], into: 1), [])
        // NaN is the weakest link of all.
        let withNaN = symmetric(3, [(0, 1, .nan), (1, 2, 0.5), (0, 2, -3)])
        XCTAssertEqual(Clustering.cut(similarity: withNaN, into: 2), [[0], [1, 2]])
        XCTAssertEqual(Clustering.cut(similarity: withNaN, into: 1), [[0, 1, 2]])
    }

    func testCutTiesAreDeterministic() {
        // Everything equally similar: ties go in (i, j) order, so 0 gathers first.
        let s = symmetric(4, [], base: 0.5)
        XCTAssertEqual(Clustering.cut(similarity: s, into: 2), [[0, 1, 2], [3]])
        XCTAssertEqual(Clustering.cut(similarity: s, into: 3), [[0, 1], [2], [3]])
    }

    func testCutAgreesWithComponentsAtEveryThreshold() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<50 {
            let n = Int.random(in: 1...12, using: &rng)
            var s = [[Double]](repeating: [Double](repeating: 1, count: n), count: n)
            for i in 0..<n { for j in (i + 1)..<n { let v = Double.random(in: 0..<1, using: &rng); s[i][j] = v; s[j][i] = v } }
            for i in 0..<n { for j in (i + 1)..<n {
                let groups = Clustering.components(similarity: s, threshold: s[i][j])
                XCTAssertEqual(Clustering.cut(similarity: s, into: groups.count), groups)
            } }
        }
    }

    /// Rand-index pair counting, independent of the contingency-table formula: for every pair,
    /// whether the two labelings agree, then Hubert & Arabie's expectation from the pair counts.
    func pairCountingARI(_ a: [Int], _ b: [Int]) -> Double {
        var bothSame = 0.0, aSame = 0.0, bSame = 0.0, pairs = 0.0
        for i in 0..<a.count {
            for j in (i + 1)..<a.count {
                let x = a[i] == a[j], y = b[i] == b[j]
                if x && y { bothSame += 1 }
                if x { aSame += 1 }
                if y { bSame += 1 }
                pairs += 1
            }
        }
        let expected = aSame * bSame / pairs
        return (bothSame - expected) / ((aSame + bSame) / 2 - expected)
    }

    func testAdjustedRandIndexKnownValues() {
        // Values documented for scikit-learn's adjusted_rand_score, and relabeling invariance.
        XCTAssertEqual(Clustering.adjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 1]), 1)
        XCTAssertEqual(Clustering.adjustedRandIndex([0, 0, 1, 1], [1, 1, 0, 0]), 1)
        XCTAssertEqual(Clustering.adjustedRandIndex([0, 0, 1, 2], [0, 0, 1, 1]), 0.5714285714285714, accuracy: 1e-12)
        XCTAssertEqual(Clustering.adjustedRandIndex([0, 0, 1, 1], [0, 1, 0, 1]), -0.5, accuracy: 1e-12)
        // By hand: a = {0,1,2},{3,4}; b = {0,1},{2,3,4}. Same-pairs: a 3+1 = 4, b 1+3 = 4, both: {0,1},{3,4} = 2,
        // total 10, expected 4·4/10 = 1.6, max 4: (2 − 1.6) / (4 − 1.6) = 1/6.
        XCTAssertEqual(Clustering.adjustedRandIndex([0, 0, 0, 1, 1], [5, 5, 7, 7, 7]), 1.0 / 6, accuracy: 1e-12)
    }

    func testAdjustedRandIndexDegenerateCasesAreOne() {
        XCTAssertEqual(Clustering.adjustedRandIndex([], []), 1)
        XCTAssertEqual(Clustering.adjustedRandIndex([3], [9]), 1)
        XCTAssertEqual(Clustering.adjustedRandIndex([0, 1, 2, 3], [4, 5, 6, 7]), 1)  // all singletons
        XCTAssertEqual(Clustering.adjustedRandIndex([1, 1, 1], [2, 2, 2]), 1)        // one cluster
        // One cluster against all singletons is not degenerate: 0.
        XCTAssertEqual(Clustering.adjustedRandIndex([1, 1, 1], [1, 2, 3]), 0)
    }

    func testAdjustedRandIndexMatchesPairCounting() {
        var rng = SplitMix64(seed: 11)
        var compared = 0
        for _ in 0..<300 {
            let n = Int.random(in: 2...30, using: &rng)
            let ka = Int.random(in: 1...5, using: &rng), kb = Int.random(in: 1...5, using: &rng)
            let a = (0..<n).map { _ in Int.random(in: 0..<ka, using: &rng) }
            let b = (0..<n).map { _ in Int.random(in: 0..<kb, using: &rng) * 10 - 7 }
            let reference = pairCountingARI(a, b)
            if reference.isNaN { continue }  // degenerate: covered above
            XCTAssertEqual(Clustering.adjustedRandIndex(a, b), reference, accuracy: 1e-9, "\(a) \(b)")
            XCTAssertEqual(Clustering.adjustedRandIndex(b, a), reference, accuracy: 1e-9)
            compared += 1
        }
        XCTAssertGreaterThan(compared, 250)
    }
}
