import XCTest
@testable import ModelTree

/// The fast paths against direct computations: the parallel blocked pass (on every kernel set the
/// CPU runs) against plain Double loops, its independence from the thread count, the SIMD moments
/// against a two-pass kurtosis, and the sketched, QR-based rank against the exact SVD rank.
final class FastPathTests: XCTestCase {
    /// Row-major values of `model`'s tensor `name`, decoded to Double through Float (as stored).
    func values(_ model: Model, _ name: String) -> [Double] {
        try! model.tensor(named: name)!.decode().map(Double.init)
    }

    /// A root and fine-tunes of it (each a dense perturbation of `relative` size), two tensors,
    /// one of them spanning several segments and blocks with a ragged end.
    func family(count: Int, relative: Double, dtype: DType, seed: UInt64) throws -> [Model] {
        var s = Sampler(seed: seed)
        let shapes = [("a", [300, 301]), ("b", [17, 29])]
        let roots = shapes.map { (0..<($0.1[0] * $0.1[1])).map { _ in s.laplace(0.02) } }
        return try (0..<count).map { m in
            try makeModel("m\(m)", zip(shapes, roots).map { shape, root in
                (shape.0, shape.1, m == 0 ? root : root.map { $0 + s.gaussian() * 0.02 * relative * Double(m) })
            }, dtype: dtype)
        }
    }

    /// Per pair (a < b, index a · n + b): mean over `names` of RMS(a − b), max over them of
    /// max|a − b| / (range of both), mean of the Pearson correlation; all in Double.
    func directStatistics(_ models: [Model], _ names: [String]) -> (rms: [Double], maxNorm: [Double], corr: [Double]) {
        let n = models.count
        var rms = [Double](repeating: 0, count: n * n), corr = rms, maxNorm = rms
        for name in names {
            let v = models.map { values($0, name) }
            let count = v[0].count
            let means = v.map { $0.reduce(0, +) / Double(count) }
            let ranges = v.map { ($0.min()!, $0.max()!) }
            let centred = zip(v, means).map { x, mean in x.map { $0 - mean } }
            let norms = centred.map { c in c.reduce(0) { $0 + $1 * $1 } }
            for a in 0..<n {
                for b in (a + 1)..<n {
                    var ss = 0.0, mx = 0.0, sab = 0.0
                    v[a].withUnsafeBufferPointer { x in
                        v[b].withUnsafeBufferPointer { y in
                            centred[a].withUnsafeBufferPointer { cx in
                                centred[b].withUnsafeBufferPointer { cy in
                                    for i in 0..<count {
                                        let d = x[i] - y[i]
                                        ss += d * d; mx = Swift.max(mx, Swift.abs(d)); sab += cx[i] * cy[i]
                                    }
                                }
                            }
                        }
                    }
                    rms[a * n + b] += (ss / Double(count)).squareRoot() / Double(names.count)
                    let lo = Swift.min(ranges[a].0, ranges[b].0), hi = Swift.max(ranges[a].1, ranges[b].1)
                    maxNorm[a * n + b] = Swift.max(maxNorm[a * n + b], mx / (hi - lo))
                    corr[a * n + b] += sab / (norms[a] * norms[b]).squareRoot() / Double(names.count)
                }
            }
        }
        return (rms, maxNorm, corr)
    }

    func testPassMatchesDirectDoubleLoops() throws {
        for (dtype, relative) in [(DType.f32, 1e-1), (.bf16, 1e-1), (.f32, 1e-6), (.f16, 1e-2)] {
            let models = try family(count: 5, relative: relative, dtype: dtype, seed: 21)
            let n = models.count
            let (rms, maxNorm, corr) = directStatistics(models, ["a", "b"])
            for kernels in KernelSet.supported {
                let stats = try PairwiseStatistics.gather(models: models, tensorNames: ["a", "b"], kernels: kernels) { _ in }
                let label = "\(kernels.name) \(dtype) \(relative)"
                for a in 0..<n {
                    for b in (a + 1)..<n {
                        let i = a * n + b
                        // Differences are taken directly, never through ‖a‖² + ‖b‖² − 2a·b: exact to
                        // Float rounding of each term even for deltas a millionth of the weights.
                        XCTAssertEqual(stats.rms[a, b], rms[i], accuracy: 1e-6 * rms[i], "\(label) rms \(a),\(b)")
                        XCTAssertEqual(stats.rms[b, a], stats.rms[a, b])
                        XCTAssertEqual(stats.maxNormalized[a, b], maxNorm[i], accuracy: 1e-6 * maxNorm[i], "\(label) max \(a),\(b)")
                        XCTAssertEqual(stats.correlation[a, b], corr[i], accuracy: 1e-6, "\(label) correlation \(a),\(b)")
                    }
                }
                for (t, name) in ["a", "b"].enumerated() {
                    for m in 0..<n {
                        let x = values(models[m], name)
                        let mean = x.reduce(0, +) / Double(x.count)
                        let m2 = x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(x.count)
                        let m4 = x.map { let d = $0 - mean; return d * d * d * d }.reduce(0, +) / Double(x.count)
                        XCTAssertEqual(stats.kurtosis[t][m], m4 / (m2 * m2) - 3, accuracy: 1e-5, "\(label) kurtosis \(name) \(m)")
                    }
                }
            }
        }
    }

    /// From `PairwiseStatistics.gramMinimumModels(kernels)` models the sums come from the Gram form
    /// (where the set fuses multiply and add; the threshold lowered here to keep the Double loops
    /// small): on a family with a chain of deltas a millionth of the weights, an exact duplicate
    /// and a BF16-rounded copy (the pairs the form must hand to the direct kernel), RMS and
    /// correlation within 1e-6 of Double loops on every set, a duplicate at distance 0, and
    /// (where the form runs) the same bits on 1 and 3 threads.
    func testGramPassMatchesDirectDoubleLoops() throws {
        var s = Sampler(seed: 41)
        let n = 24, count = 66_001      // two segments, a ragged end
        let root = (0..<count).map { _ in s.laplace(0.02) }
        var weights = [root]
        for m in 1..<n {
            switch m {
            case n - 2: weights.append(weights[m / 2])                                   // a duplicate
            case n - 1: weights.append(weights[3].map { Double(Float(bitPattern: Float($0).bitPattern & 0xFFFF_0000)) })
            default:                                                                     // a tree, steps 1e-6
                weights.append(weights[(m - 1) / 2].map { $0 + 0.02 * 1e-6 * s.gaussian() })
            }
        }
        let models = try weights.enumerated().map { try makeModel("m\($0.offset)", [("w", [count], $0.element)]) }
        let (rms, _, corr) = directStatistics(models, ["w"])
        for kernels in KernelSet.supported {
            XCTAssertEqual(PairwiseStatistics.usesGram(models: n, maxDifference: false, kernels: kernels, from: n),
                           kernels.fusesMultiplyAdd)
            let stats = try PairwiseStatistics.gather(models: models, tensorNames: ["w"], maxDifference: false, threads: 1,
                                                      kernels: kernels, gramFrom: n) { _ in }
            for a in 0..<n {
                for b in (a + 1)..<n {
                    let i = a * n + b
                    XCTAssertEqual(stats.rms[a, b], rms[i], accuracy: 1e-6 * rms[i], "\(kernels.name) rms \(a),\(b)")
                    XCTAssertEqual(stats.correlation[a, b], corr[i], accuracy: 1e-6, "\(kernels.name) correlation \(a),\(b)")
                }
            }
            XCTAssertEqual(stats.rms[(n - 2) / 2, n - 2], 0, kernels.name)
            guard kernels.fusesMultiplyAdd else { continue }       // the direct kernel's threads: tested above
            let three = try PairwiseStatistics.gather(models: models, tensorNames: ["w"], maxDifference: false, threads: 3,
                                                      kernels: kernels, gramFrom: n) { _ in }
            XCTAssertEqual(three.rms, stats.rms, kernels.name)
            XCTAssertEqual(three.kurtosis, stats.kurtosis, kernels.name)
        }
    }

    /// The pass over files (staged reads, and the prefetching of the staged bytes between pair
    /// steps: `PairwiseStatistics.prefetchDistance`): more models than that distance, a tensor of
    /// several segments and blocks with a ragged end, BF16 safetensors files. On every set, the
    /// statistics match Double loops, are bit for bit those of the same values lent from memory,
    /// and the same on 1 and 3 threads.
    func testPassOverFilesMatchesDirectDoubleLoops() throws {
        let n = PairwiseStatistics.prefetchDistance + 4, count = 2 * StreamingPass.segmentSize + 1_234
        var s = Sampler(seed: 61)
        let root = (0..<count).map { _ in s.laplace(0.02) }
        var weights = [root]
        for m in 1..<n { weights.append(weights[(m - 1) / 2].map { $0 + 0.02 * 0.05 * s.gaussian() }) }
        let dir = try TemporaryDirectory()
        let files = try weights.enumerated().map { m, values in
            try ModelLoader.load(ModelLocation(id: "m\(m)", path: dir.write("m\(m).safetensors", SafetensorsWriter.file([
                .init(name: "w", dtype: "BF16", shape: [count],
                      bytes: values.flatMap { LE.u16(bfloat16Bits(Float($0))) })]))))
        }
        let lent = try weights.enumerated().map { try makeModel("m\($0.offset)", [("w", [count], $0.element)], dtype: .bf16) }
        let (rms, maxNorm, corr) = directStatistics(lent, ["w"])
        for kernels in KernelSet.supported {
            let one = try PairwiseStatistics.gather(models: files, tensorNames: ["w"], threads: 1, kernels: kernels) { _ in }
            let three = try PairwiseStatistics.gather(models: files, tensorNames: ["w"], threads: 3, kernels: kernels) { _ in }
            let memory = try PairwiseStatistics.gather(models: lent, tensorNames: ["w"], threads: 2, kernels: kernels) { _ in }
            for other in [three, memory] {
                XCTAssertEqual(other.rms, one.rms, kernels.name)                  // bit for bit
                XCTAssertEqual(other.maxNormalized, one.maxNormalized, kernels.name)
                XCTAssertEqual(other.kurtosis, one.kurtosis, kernels.name)
            }
            for a in 0..<n {
                for b in (a + 1)..<n {
                    let i = a * n + b
                    XCTAssertEqual(one.rms[a, b], rms[i], accuracy: 1e-6 * rms[i], "\(kernels.name) rms \(a),\(b)")
                    XCTAssertEqual(one.maxNormalized[a, b], maxNorm[i], accuracy: 1e-6 * maxNorm[i], "\(kernels.name) max \(a),\(b)")
                    XCTAssertEqual(one.correlation[a, b], corr[i], accuracy: 1e-6, "\(kernels.name) correlation \(a),\(b)")
                }
            }
        }
    }

    func testResultsDoNotDependOnTheThreadCount() throws {
        let models = try family(count: 7, relative: 0.05, dtype: .bf16, seed: 5)
        func run(_ threads: Int, _ withMax: Bool) throws -> PairwiseStatistics {
            try PairwiseStatistics.gather(models: models, tensorNames: ["a", "b"], maxDifference: withMax, threads: threads) { _ in }
        }
        let one = try run(1, true)
        for threads in [2, 3, 8] {
            let other = try run(threads, true)
            XCTAssertEqual(other.rms, one.rms, "threads \(threads)")          // bit for bit
            XCTAssertEqual(other.maxNormalized, one.maxNormalized)
            XCTAssertEqual(other.correlation, one.correlation)
            XCTAssertEqual(other.kurtosis, one.kurtosis)
        }
        // Without the maximum the other statistics are unchanged and the maximum is NaN.
        let lean = try run(2, false)
        XCTAssertEqual(lean.rms, one.rms)
        XCTAssertEqual(lean.correlation, one.correlation)
        XCTAssertEqual(lean.kurtosis, one.kurtosis)
        XCTAssertTrue(lean.maxNormalized[0, 1].isNaN)
    }

    /// The moments-only pass (direction evidence) agrees with the pair pass and with itself on
    /// any thread count.
    func testTensorMomentsMatchThePairPass() throws {
        let models = try family(count: 4, relative: 0.05, dtype: .bf16, seed: 31)
        let stats = try PairwiseStatistics.gather(models: models, tensorNames: ["a", "b"]) { _ in }
        let one = try TensorMoments.gather(models: models, tensorNames: ["a", "b"], threads: 1) { _ in }
        let three = try TensorMoments.gather(models: models, tensorNames: ["a", "b"], threads: 3) { _ in }
        for t in 0..<2 {
            for m in 0..<4 {
                XCTAssertEqual(one[t][m].excessKurtosis, three[t][m].excessKurtosis)
                XCTAssertEqual(one[t][m].excessKurtosis, stats.kurtosis[t][m], accuracy: 1e-9)
                XCTAssertEqual(one[t][m].variance, stats.moments[t][m].variance, accuracy: 1e-12)
            }
        }
    }

    func testNonFiniteValueSkipsTheTensor() throws {
        var s = Sampler(seed: 8)
        let clean = (0..<70_000).map { _ in s.gaussian() }
        var dirty = clean
        dirty[66_000] = .infinity
        let models = [try makeModel("p", [("w", [70_000], clean)]), try makeModel("c", [("w", [70_000], dirty)])]
        let stats = try PairwiseStatistics.gather(models: models, tensorNames: ["w"]) { _ in }
        XCTAssertEqual(stats.tensors, [])
        XCTAssertEqual(stats.skipped.map(\.tensor), ["w"])
    }

    func testSIMDMomentsMatchTwoPassKurtosis() {
        var s = Sampler(seed: 13)
        for (count, offset) in [(5, 0.0), (1_001, 0.3), (100_003, -0.01)] {
            let x = (0..<count).map { _ in Float(offset + s.laplace(0.02)) }
            let d = x.map(Double.init)
            let mean = d.reduce(0, +) / Double(count)
            let m2 = d.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(count)
            let m4 = d.map { let e = $0 - mean; return e * e * e * e }.reduce(0, +) / Double(count)
            for kernels in KernelSet.supported {
                var m = Moments(shift: Double(x[0]))
                x.withUnsafeBufferPointer { m.addFast($0.baseAddress!, count: count, kernels: kernels) }
                XCTAssertEqual(m.mean, mean, accuracy: 1e-7 * Swift.max(1, Swift.abs(offset)), kernels.name)
                XCTAssertEqual(m.variance, m2, accuracy: 1e-6 * m2, kernels.name)
                XCTAssertEqual(m.excessKurtosis, m4 / (m2 * m2) - 3, accuracy: 1e-5, kernels.name)
                XCTAssertEqual(m.minimum, x.min()!, kernels.name)
                XCTAssertEqual(m.maximum, x.max()!, kernels.name)
            }
        }
    }

    func testParallelForEachRunsEveryItemOnce() {
        for threads in [1, 2, 5] {
            var hits = [Int](repeating: 0, count: 37)
            hits.withUnsafeMutableBufferPointer { buf in
                nonisolated(unsafe) let p = buf.baseAddress!
                parallelForEach(37, threads: threads) { i, worker in
                    XCTAssertEqual(worker, i % threads)
                    p[i] += 1
                }
            }
            XCTAssertEqual(hits, [Int](repeating: 1, count: 37))
        }
    }

    /// Items that throw: the error of the lowest failing item comes out, whatever the thread count
    /// (here items 11, 12 and 30 fail; with 2 threads 11 and 12 fail on different workers).
    func testParallelForEachRethrowsTheLowestFailingItem() {
        struct Failed: Error, Equatable { let item: Int }
        for threads in [1, 2, 5, 64] {
            XCTAssertThrowsError(try parallelForEach(37, threads: threads) { i, _ throws(Failed) in
                if [30, 12, 11].contains(i) { throw Failed(item: i) }
            }) { XCTAssertEqual($0 as? Failed, Failed(item: 11), "threads: \(threads)") }
        }
    }

    /// Finite weights whose differences overflow a Float square (|Δ| > 1.8e19, up to 3e38 − (−3e38)
    /// in Float): the distances are still the Double computation's, and the rank still exact
    /// (the fuzzer's finding 5: +∞ or NaN distances, separate trees with no warning).
    func testHugeFiniteWeightsGiveFiniteExactDistances() throws {
        var s = Sampler(seed: 31)
        let side = 40
        let base = (0..<(side * side)).map { _ in s.laplace(0.02) }
        var big = base
        big[7] = 1e20; big[500] = -3e38; big[901] = 3e38          // in both models
        let update = s.lowRank(side, side, 1, scale: 1e19)         // a rank-1 update of 1e19
        let child = zip(big, update).enumerated().map { i, p in [7, 500, 901].contains(i) ? p.0 : p.0 + p.1 }
        var far = child
        far[500] = 3e38                                            // one difference of 6e38
        let models = try [("p", big), ("c", child), ("f", far)].map { try makeModel($0.0, [("w", [side, side], $0.1)]) }
        let stats = try PairwiseStatistics.gather(models: models, tensorNames: ["w"]) { _ in }
        let v = models.map { values($0, "w") }
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            var ss = 0.0, mx = 0.0
            for i in 0..<v[a].count { let d = v[a][i] - v[b][i]; ss += d * d; mx = Swift.max(mx, Swift.abs(d)) }
            let rms = (ss / Double(v[a].count)).squareRoot()
            XCTAssertTrue(stats.rms[a, b].isFinite, "pair \(a),\(b)")
            XCTAssertEqual(stats.rms[a, b], rms, accuracy: 1e-6 * rms, "pair \(a),\(b)")
            let lo = Swift.min(v[a].min()!, v[b].min()!), hi = Swift.max(v[a].max()!, v[b].max()!)
            XCTAssertEqual(stats.maxNormalized[a, b], mx / (hi - lo), accuracy: 1e-6, "pair \(a),\(b)")
        }
        XCTAssertEqual(stats.tensors, ["w"])
        // The rank: weights of ~2e19 everywhere (their Float squares overflow) and a rank-1
        // update of the same size; F32 is sketched in Double, BF16 in Float, both then redone.
        for dtype in [DType.f32, .bf16] {
            let scaled = base.map { $0 * 1e21 }
            let pair = try [("p", scaled), ("c", zip(scaled, update).map { $0 + $1 })].map {
                try makeModel($0.0, [("w", [side, side], $0.1)], dtype: dtype)
            }
            let ranks = try RankDistances.ranks(models: pair, tensorNames: ["w"], pairs: [(0, 1)]) { _ in }
            XCTAssertEqual(ranks[0][0], 1, "\(dtype)")
        }
        // The difference of one entry of 6e38 (c and f) is rank 1 too.
        XCTAssertEqual(try RankDistances.ranks(models: models, tensorNames: ["w"], pairs: [(1, 2)]) { _ in }[0][0], 1)
    }

    /// Both sides sketched (Ψ and Ω), through the nested corner (ranks below 56) and the whole
    /// sketch (rank 60), tall and wide, F32 and BF16: the same rank as the exact SVD.
    func testSketchedQRRankEqualsExactRank() throws {
        var s = Sampler(seed: 17)
        let sketch = 72      // sketch 136 × 72, corner 96 × 64
        for (rows, cols) in [(150, 100), (100, 150)] {
            let base = (0..<(rows * cols)).map { _ in s.laplace(0.03) }
            for dtype in [DType.f32, .bf16] {
                for r in [1, 6, 30, 60] {
                    let update = s.lowRank(rows, cols, r, scale: 0.01)
                    let child = zip(base, update).map { $0 + $1 }
                    let parent = try makeModel("p", [("w", [rows, cols], base)], dtype: dtype)
                    let lora = try makeModel("c", [("w", [rows, cols], child)], dtype: dtype)
                    let pv = values(parent, "w"), cv = values(lora, "w")
                    // Exact: Jacobi SVD of the whole stored difference (column-major), same tolerance.
                    var diff = [Double](repeating: 0, count: rows * cols)
                    for i in 0..<rows { for j in 0..<cols { diff[j * rows + i] = cv[i * cols + j] - pv[i * cols + j] } }
                    let rms = ((pv.map { $0 * $0 }.reduce(0, +) + cv.map { $0 * $0 }.reduce(0, +)) / Double(2 * rows * cols)).squareRoot()
                    let tol = NumericalRank.tolerance(unitRoundoff: Swift.max(dtype.unitRoundoff, 0x1p-24), rmsWeight: rms,
                                                      rows: Swift.max(rows, cols), cols: Swift.min(rows, cols))
                    let exact = JacobiSVD.rank(diff, rows: rows, cols: cols, tolerance: tol)
                    XCTAssertEqual(exact, r, "\(rows)×\(cols) \(dtype)")
                    let sketched = try RankDistances.ranks(models: [parent, lora], tensorNames: ["w"], pairs: [(0, 1)],
                                                           sketchSize: sketch) { _ in }
                    XCTAssertEqual(sketched[0][0], exact, "\(rows)×\(cols) \(dtype) rank \(r)")
                }
            }
        }
    }

    func testPivotedQRRankEqualsJacobiRank() {
        var s = Sampler(seed: 23)
        for (rows, cols, r) in [(30, 20, 0), (30, 20, 3), (20, 30, 11), (25, 25, 25), (40, 8, 8)] {
            var m = r == 0 ? [Double](repeating: 0, count: rows * cols) : s.lowRank(rows, cols, r)
            let noise = s.gaussians(rows * cols, std: 1e-12)
            for i in 0..<m.count { m[i] += noise[i] }
            // Row-major rows × cols is column-major cols × rows (the transpose: same rank).
            let exact = JacobiSVD.rank(m, rows: cols, cols: rows, tolerance: 1e-8)
            XCTAssertEqual(exact, r)
            XCTAssertEqual(LinearAlgebra.pivotedQRRank(&m, rows: cols, cols: rows, tolerance: 1e-8), r, "\(rows)×\(cols) rank \(r)")
        }
    }

    /// The auto test: the screen stops (nil) at the first nearest pair whose rank exceeds its
    /// limit — found by the submatrix proof before any sketch, or by the sketches after a
    /// low-rank first pair — and otherwise gives the ranks of every pair, those of `ranks`.
    func testScreenedRanksStopAboveTheLimit() throws {
        var s = Sampler(seed: 29)
        let n = 24
        let base = (0..<(n * n)).map { _ in s.laplace(0.05) }
        let full = base.map { $0 + s.gaussian() * 0.01 }
        let lora = zip(base, s.lowRank(n, n, 2, scale: 0.01)).map { $0 + $1 }
        let models = [try makeModel("p", [("w", [n, n], base), ("v", [n, n], base)]),
                      try makeModel("f", [("w", [n, n], full), ("v", [n, n], full)]),
                      try makeModel("g", [("w", [n, n], full), ("v", [n, n], full)]),
                      try makeModel("l", [("w", [n, n], lora), ("v", [n, n], lora)])]
        func sumSquares(_ order: [Int]) -> [[Double]] {
            (0..<2).map { _ in order.map { values(models[$0], "w").reduce(0) { $0 + $1 * $1 } } }
        }
        func screen(_ order: [Int], _ nearest: [(Int, Int)]) throws -> (nearest: [[Int]], pairs: [[Int]])? {
            let all = [(0, 1), (0, 2), (1, 2)]
            return try RankDistances.screenedRanks(models: order.map { models[$0] }, tensorNames: ["w", "v"], nearest: nearest,
                                                   limits: [n / 2, n / 2], sumSquares: sumSquares(order), pairs: all) { _ in }
        }
        // A full fine-tune first: the submatrix proof stops it.
        XCTAssertNil(try screen([0, 1, 3], [(0, 1), (0, 2)]))
        // Identical models first (rank 0, no proof), then the full-rank pair: the sketches stop it.
        XCTAssertNil(try screen([1, 2, 0], [(0, 1), (0, 2)]))
        // A LoRA pair and an identical pair: every pair ranked, as `ranks` ranks them.
        let kept = try XCTUnwrap(try screen([0, 3, 1, 2].dropLast().map { $0 }, [(0, 1)]))
        XCTAssertEqual(kept.nearest, [[2, 2]])
        let all = try RankDistances.ranks(models: [0, 3, 1].map { models[$0] }, tensorNames: ["w", "v"],
                                          pairs: [(0, 1), (0, 2), (1, 2)]) { _ in }
        XCTAssertEqual(kept.pairs, all)
        XCTAssertEqual(all, [[2, 2], [n, n], [n, n]])
    }

    /// The submatrix proof: above the limit for a full-rank difference (a lower bound of the
    /// exact rank), tall and wide; nil for a low-rank difference and for identical tensors.
    func testSubmatrixProofIsALowerBound() throws {
        var s = Sampler(seed: 30)
        for (rows, cols) in [(200, 90), (90, 200)] {
            let base = (0..<(rows * cols)).map { _ in s.laplace(0.05) }
            let full = base.map { $0 + s.gaussian() * 0.01 }
            let low = zip(base, s.lowRank(rows, cols, 5, scale: 0.01)).map { $0 + $1 }
            let models = try [base, full, low].map { try makeModel("m", [("w", [rows, cols], $0)]) }   // own the bytes
            let views = models.map { $0.tensor(named: "w")! }
            let ss = [base, full, low].map { w in w.reduce(0) { $0 + Double(Float($1)) * Double(Float($1)) } }
            let limit = 40
            let proof = try XCTUnwrap(try RankDistances.exceedsOnColumns(views[0], views[1], limit: limit, sumSquares: ss[0] + ss[1]), "\(rows)×\(cols)")
            XCTAssertGreaterThan(proof, limit)
            XCTAssertLessThanOrEqual(proof, Swift.min(rows, cols))
            XCTAssertNil(try RankDistances.exceedsOnColumns(views[0], views[2], limit: limit, sumSquares: ss[0] + ss[2]))
            XCTAssertNil(try RankDistances.exceedsOnColumns(views[0], views[0], limit: limit, sumSquares: 2 * ss[0]))
        }
    }
}
