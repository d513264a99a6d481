import XCTest
@testable import ModelTree

/// Ranks of differences against matrices whose rank is known by construction.
final class NumericalRankTests: XCTestCase {
    func testSingularValuesOfDiagonalAndOrthogonalMatrices() {
        // diag(3, 2, 1) padded to 4 × 3, columns permuted: singular values are the diagonal sorted.
        let a: [Double] = [0, 2, 0, 0,   3, 0, 0, 0,   0, 0, -1, 0]
        let sigma = JacobiSVD.singularValues(a, rows: 4, cols: 3)
        XCTAssertEqual(sigma[0], 3, accuracy: 1e-12)
        XCTAssertEqual(sigma[1], 2, accuracy: 1e-12)
        XCTAssertEqual(sigma[2], 1, accuracy: 1e-12)
    }

    func testExactRanks() {
        var s = Sampler(seed: 3)
        for (rows, cols, r) in [(10, 10, 0), (10, 10, 1), (32, 32, 4), (40, 24, 7), (24, 40, 7), (16, 16, 16)] {
            // Row-major rows × cols is column-major cols × rows (the transpose: same rank).
            let m = r == 0 ? [Double](repeating: 0, count: rows * cols) : s.lowRank(rows, cols, r)
            XCTAssertEqual(JacobiSVD.rank(m, rows: cols, cols: rows, tolerance: 1e-9), r, "\(rows)×\(cols) rank \(r)")
        }
    }

    /// A LoRA update merged into stored weights: the rank of the difference is the adapter's rank
    /// in F32, BF16 and F16, although rounding makes the stored difference full rank.
    func testMergedLoRARankSurvivesStorageRounding() throws {
        var s = Sampler(seed: 5)
        let n = 48, r = 3
        let base = (0..<(n * n)).map { _ in s.laplace(0.05) }
        let update = s.lowRank(n, n, r, scale: 0.03)
        let child = zip(base, update).map { $0 + $1 }
        for dtype in [DType.f32, .bf16, .f16] {
            let parent = try makeModel("p", [("w", [n, n], base)], dtype: dtype)
            let lora = try makeModel("c", [("w", [n, n], child)], dtype: dtype)
            let ranks = try RankDistances.ranks(models: [parent, lora], tensorNames: ["w"], pairs: [(0, 1)]) { _ in }
            XCTAssertEqual(ranks[0][0], r, "\(dtype)")
        }
        // A full fine-tune (dense noise of the same size) is full rank.
        let full = base.map { $0 + s.gaussian() * 0.01 }
        let ranks = try RankDistances.ranks(
            models: [try makeModel("p", [("w", [n, n], base)]), try makeModel("f", [("w", [n, n], full)])],
            tensorNames: ["w"], pairs: [(0, 1)]) { _ in }
        XCTAssertEqual(ranks[0][0], n)
    }

    /// Above the sketch size the rank is read from W·Ω: it must equal the exact rank.
    func testSketchedRankEqualsExactRank() throws {
        var s = Sampler(seed: 9)
        let rows = 70, cols = 60, sketch = 24    // smaller side > sketch size
        let base = (0..<(rows * cols)).map { _ in s.laplace(0.05) }
        for r in [1, 5, 12] {
            let update = s.lowRank(rows, cols, r, scale: 0.02)
            let child = zip(base, update).map { $0 + $1 }
            let exact = JacobiSVD.rank(
                (0..<(rows * cols)).map { k in let j = k / rows, i = k % rows
                    return Double(Float(child[i * cols + j])) - Double(Float(base[i * cols + j])) },
                rows: rows, cols: cols,
                tolerance: NumericalRank.tolerance(unitRoundoff: 0x1p-24, rmsWeight: 0.07, rows: rows, cols: cols))
            XCTAssertEqual(exact, r)
            let sketched = try RankDistances.ranks(
                models: [try makeModel("p", [("w", [rows, cols], base)]), try makeModel("c", [("w", [rows, cols], child)])],
                tensorNames: ["w"], pairs: [(0, 1)], sketchSize: sketch) { _ in }
            XCTAssertEqual(sketched[0][0], exact, "rank \(r)")
        }
    }
}
