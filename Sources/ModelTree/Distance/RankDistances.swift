import Glibc

/// The LoRA distance: for pairs of models, the numerical rank of `W_a − W_b` in every tensor.
///
/// A merged LoRA adapter changes a weight matrix by `B·A` of rank r, so a parent and its LoRA
/// child differ by rank r per adapted matrix, siblings by 2r, and so on (Horwitz et al. 2025).
/// Tensors of more than two dimensions are read as `shape[0] × (product of the rest)`.
///
/// Each model's tensor is reduced once to a small linear sketch `S_m = Ψᵀ·(W_m − W_ref)·Ω`, with
/// fixed Gaussian matrices (the same for every model) and `W_ref` the tensor of the first model
/// involved. The sketch of a difference is the difference of sketches, so one sketch per model
/// serves every pair, and its rank equals the rank of the difference whenever that rank is below
/// the sketch size (with probability one; Halko, Martinsson & Tropp 2011, §4). Ω reduces the
/// smaller side to `sketchSize` columns when it is larger; Ψ reduces the other side to
/// `sketchSize + 64` rows when it is larger (kept taller than wide, so that a full-rank
/// difference keeps singular values far from zero). Subtracting the reference first keeps the
/// sketch's rounding relative to the (small) fine-tuning deltas, not to the weights, which lets
/// BF16 and F16 weights be sketched in Float (see `SketchPlan.sketch`).
///
/// The rank of `S_a − S_b` comes from a Householder QR with column pivoting (Businger & Golub
/// 1965) that stops as soon as every remaining column is below the tolerance: O(R·k·rank) for a
/// low rank instead of the O(R·k²·sweeps) of a full SVD. Every pair is first ranked on a small
/// 96 × 64 sketch (a fifth of the big one's cost to make); only the models of pairs whose rank
/// comes within 8 of 64 are sketched at full size.
enum RankDistances {
    static let sketchColumns = 256
    /// Extra sketch rows beyond the columns.
    static let extraRows = 64
    /// The small sketch tried first.
    static let smallColumns = 64, smallRows = 96

    /// - Returns: `ranks[p][t]` for pair `pairs[p]` and tensor `tensorNames[t]`.
    /// - Parameters:
    ///   - sketchSize: columns of the sketch (tests use a small one to exercise it cheaply).
    ///   - stopAbove: one limit per tensor; when given, the computation stops at the first rank
    ///     above its tensor's limit (which may then be a lower bound of the rank, still above
    ///     the limit) and the ranks not computed are -1: a cheap "is this a LoRA family?" test,
    ///     which a full fine-tune fails at the first pair.
    ///   - threads: worker threads; results do not depend on it.
    ///   - progress: called on the caller's thread after each tensor with the fraction done.
    static func ranks(models: [Model], tensorNames: [String], pairs: [(Int, Int)], sketchSize: Int = sketchColumns,
                      stopAbove: [Int]? = nil, threads: Int = defaultThreadCount,
                      progress: (Double) throws -> Void) throws -> [[Int]] {
        var result = [[Int]](repeating: [Int](repeating: stopAbove == nil ? 0 : -1, count: tensorNames.count), count: pairs.count)
        guard !pairs.isEmpty else { return result }
        let involved = Array(Set(pairs.flatMap { [$0.0, $0.1] })).sorted()
        for (t, name) in tensorNames.enumerated() {
            // The first pair of a limited call: a full fine-tune is usually caught by a column
            // subset of its difference, before any random matrix is made (`exceedsOnColumns`).
            if let limits = stopAbove, t == 0,
               let above = try exceedsOnColumns(models[pairs[0].0].tensor(named: name)!,
                                            models[pairs[0].1].tensor(named: name)!, limit: limits[0]) {
                result[0][0] = above
                return result
            }
            let shape = models[involved[0]].tensor(named: name)!.shape
            let big = SketchPlan(shape: shape, sketchSize: sketchSize, extraRows: extraRows, seed: UInt64(t))
            // The small sketch first; the big one only for pairs that saturate it.
            let small = big.sketchCols > smallColumns
                ? SketchPlan(shape: shape, sketchSize: smallColumns, extraRows: smallRows - smallColumns, seed: 0x100_0000 &+ UInt64(t))
                : nil
            let reference = try models[involved[0]].tensor(named: name)!.decode()
            let precise = involved.contains { models[$0].tensor(named: name)!.unitRoundoff < 0x1p-16 }
            var smallSketches = [Int: Sketch](), bigSketches = [Int: Sketch]()

            /// Sketches `models` (those not done yet) into `cache`, in parallel.
            func ensure(_ plan: SketchPlan, _ wanted: [Int], _ cache: inout [Int: Sketch]) throws {
                let missing = Array(Set(wanted)).filter { cache[$0] == nil }.sorted()
                guard !missing.isEmpty else { return }
                let made = UnsafeMutablePointer<Sketch?>.allocate(capacity: missing.count)
                made.initialize(repeating: nil, count: missing.count)
                defer { made.deinitialize(count: missing.count); made.deallocate() }
                // Each item writes its own slot; they are read after every thread joined.
                nonisolated(unsafe) let out = made
                try parallelForEach(missing.count, threads: threads) { i, _ in
                    out[i] = try plan.sketch(models[missing[i]].tensor(named: name)!, reference: reference, precise: precise)
                }
                for (i, m) in missing.enumerated() { cache[m] = made[i]! }
            }
            /// Ranks of `part` under `plan`, in parallel.
            func rank(_ plan: SketchPlan, _ part: [(Int, Int)], _ cache: [Int: Sketch]) -> [Int] {
                var out = [Int](repeating: 0, count: part.count)
                out.withUnsafeMutableBufferPointer { buf in
                    nonisolated(unsafe) let p = buf.baseAddress!   // one slot per item, as above
                    parallelForEach(part.count, threads: threads) { i, _ in p[i] = plan.rank(cache[part[i].0]!, cache[part[i].1]!) }
                }
                return out
            }

            // Pairs in chunks of a fixed size (never the thread count). With a limit the first
            // chunk is one pair, so a full fine-tune stops after two sketches.
            var first = 0
            while first < pairs.count {
                let chunk = stopAbove == nil ? pairs.count : (first == 0 && t == 0 ? 1 : 8)
                let part = Array(pairs[first..<Swift.min(pairs.count, first + chunk)])
                var ranks: [Int]
                var saturated = Array(part.indices)
                if let small {
                    try ensure(small, part.flatMap { [$0.0, $0.1] }, &smallSketches)
                    ranks = rank(small, part, smallSketches)
                    saturated = part.indices.filter { ranks[$0] >= small.sketchCols - 8 }
                } else {
                    ranks = [Int](repeating: 0, count: part.count)
                }
                if !saturated.isEmpty {
                    let again = saturated.map { part[$0] }
                    try ensure(big, again.flatMap { [$0.0, $0.1] }, &bigSketches)
                    for (i, r) in zip(saturated, rank(big, again, bigSketches)) { ranks[i] = r }
                }
                for i in 0..<part.count { result[first + i][t] = ranks[i] }
                if let limits = stopAbove, ranks.contains(where: { $0 > limits[t] }) {
                    return result
                }
                first += part.count
            }
            try progress(Double(t + 1) / Double(tensorNames.count))
        }
        return result
    }

    /// A cheap proof that `rank(W_a − W_b) > limit`: the numerical rank of `limit + 1`
    /// evenly spaced columns of the difference (of the full height, against the whole
    /// matrix's tolerance) is a lower bound of the whole one's, since a submatrix's singular
    /// values never exceed the matrix's. Returns that rank when it exceeds `limit`, nil when
    /// it does not (a low-rank difference: the caller sketches as usual) or cannot apply.
    /// Cost O(rows · limit²) and no sketch: the `auto` metric's test on a full fine-tune of
    /// 2048 × 2048 matrices drops from two sketches (2.5 G multiply-adds) to this.
    static func exceedsOnColumns(_ a: TensorView, _ b: TensorView, limit: Int) throws -> Int? {
        let r = a.shape.first ?? 1
        let c = a.shape.count > 1 ? a.shape.dropFirst().reduce(1, *) : 1
        let transposed = c > r, rows = Swift.max(r, c), cols = Swift.min(r, c)
        let k = limit + 1
        guard k <= cols, k > 0 else { return nil }
        let wa = try a.decode(), wb = try b.decode()
        var ss = 0.0
        for i in 0..<wa.count { ss += Double(wa[i]) * Double(wa[i]) + Double(wb[i]) * Double(wb[i]) }
        var d = [Double](repeating: 0, count: rows * k)      // column-major rows × k
        for q in 0..<k {
            let j = q * cols / k
            for i in 0..<rows {
                let at = transposed ? j * c + i : i * c + j
                d[q * rows + i] = Double(wa[at]) - Double(wb[at])
            }
        }
        let u = Swift.max(a.unitRoundoff, b.unitRoundoff, DType.f32.unitRoundoff)
        let tol = NumericalRank.tolerance(unitRoundoff: u, rmsWeight: (ss / Double(2 * r * c)).squareRoot(),
                                          rows: rows, cols: cols)
        let found = LinearAlgebra.pivotedQRRank(&d, rows: rows, cols: k, tolerance: tol)
        return found > limit ? found : nil
    }

    /// One model's sketch of one tensor and what its tolerance needs.
    struct Sketch {
        /// Column-major `plan.sketchRows × plan.sketchCols`.
        var values: [Double]
        var sumSquares: Double
        var unitRoundoff: Double
    }

    /// Shapes and random matrices of one tensor's sketch.
    struct SketchPlan {
        let r: Int, c: Int
        /// Orientation: `rows ≥ cols` after an optional transpose of the row-major r × c data.
        let transposed: Bool
        let rows: Int, cols: Int
        /// Sketch size; a side that is not sketched keeps its size.
        let sketchRows: Int, sketchCols: Int
        /// Ω in panels of 8 columns (cols × sketchCols, N(0, 1/sketchCols)), empty when not used.
        let omegaPanels: [Float]
        /// Ψᵀ row-major (sketchRows × rows, N(0, 1/sketchRows)), empty when not used.
        let psiT: [Float]

        init(shape: [Int], sketchSize: Int, extraRows: Int, seed: UInt64) {
            r = shape.first ?? 1
            c = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
            transposed = c > r
            rows = Swift.max(r, c); cols = Swift.min(r, c)
            sketchCols = cols > sketchSize ? sketchSize : cols
            sketchRows = rows > sketchCols + extraRows ? sketchCols + extraRows : rows
            let (n, k) = (cols, sketchCols)
            if k < n {
                let omega = RankDistances.gaussianMatrix(rows: n, cols: k, seed: 0x5EED_0000 &+ seed)  // column-major
                omegaPanels = MatrixKernels.packPanels(n, k) { i, j in Float(omega[j * n + i]) }
            } else {
                omegaPanels = []
            }
            if sketchRows < rows {
                let psi = RankDistances.gaussianMatrix(rows: rows, cols: sketchRows, seed: 0x5EED_8000 &+ seed)  // column-major rows × R
                psiT = psi.map(Float.init)       // column-major rows × R is row-major R × rows
            } else {
                psiT = []
            }
        }

        /// Ψᵀ · (W − reference) · Ω, column-major, with the norm and roundoff of W. Computed in
        /// Float when every involved model is stored in BF16 or F16 (`precise` false): the
        /// Float rounding of the product, relative to the deltas, is then orders of magnitude
        /// below the tolerance. F32 and F64 weights, whose tolerance is at Float's own rounding,
        /// are sketched in Double.
        func sketch(_ view: TensorView, reference: [Float], precise: Bool) throws -> Sketch {
            let s = precise ? try sketch(view, reference: reference, as: Double.self)
                            : try sketch(view, reference: reference, as: Float.self)
            if s.sumSquares.isFinite && s.values.allSatisfy(\.isFinite) { return s }
            // Finite weights beyond ~1.8e19 overflow a Float square (beyond ~1.7e38, a Float
            // difference): redone with every step in Double, where nothing a Float holds can.
            return try sketch(view, reference: reference, as: Double.self, wide: true)
        }

        @_specialize(where T == Float)
        @_specialize(where T == Double)
        func sketch<T: MatrixScalar>(_ view: TensorView, reference: [Float], as: T.Type,
                                                        wide: Bool = false) throws -> Sketch {
            var w = try view.decode()
            var ss = 0.0
            let a: [T]
            if wide {
                for x in w { ss += Double(x) * Double(x) }
                let d = (0..<w.count).map { T(w[$0]) - T(reference[$0]) }
                a = transposed ? LinearAlgebra.transpose(d, rows: r, cols: c) : d
            } else {
                var i = 0
                while i < w.count {          // Σ w² in Double over Float runs, then w − reference
                    let end = Swift.min(w.count, i + 256)
                    var acc: Float = 0
                    while i < end { acc += w[i] * w[i]; w[i] -= reference[i]; i += 1 }
                    ss += Double(acc)
                }
                // A: rows × cols row-major.
                a = (transposed ? LinearAlgebra.transpose(w, rows: r, cols: c) : w).map { T($0) }
            }
            // Y = A·Ω: rows × sketchCols row-major.
            let y: [T] = omegaPanels.isEmpty ? a : LinearAlgebra.multiply(a, rows, cols, omegaPanels.map { T($0) }, sketchCols)
            // Z = Ψᵀ·Y: sketchRows × sketchCols row-major.
            let k = sketchCols
            let z: [T] = psiT.isEmpty ? y
                : LinearAlgebra.multiply(psiT.map { T($0) }, sketchRows, rows, MatrixKernels.packPanels(rows, k) { i, j in y[i * k + j] }, k)
            var values = [Double](repeating: 0, count: z.count)      // column-major
            for i in 0..<sketchRows { for j in 0..<k { values[j * sketchRows + i] = Double(z[i * k + j]) } }
            return Sketch(values: values, sumSquares: ss,
                          unitRoundoff: Swift.max(view.unitRoundoff, DType.f32.unitRoundoff))
        }

        /// Numerical rank of the difference of two sketches (see the type's documentation).
        func rank(_ a: Sketch, _ b: Sketch) -> Int {
            NumericalRank.rankOfDifference(a.values, b.values, rows: sketchRows, columns: sketchCols, matrixRows: rows,
                                           matrixColumns: cols, sumSquares: a.sumSquares + b.sumSquares,
                                           unitRoundoff: Swift.max(a.unitRoundoff, b.unitRoundoff))
        }
    }

    /// A column-major `rows × cols` matrix of independent N(0, 1/cols) entries from a fixed seed
    /// (SplitMix64 and Box–Muller), so results never depend on anything but the data.
    static func gaussianMatrix(rows: Int, cols: Int, seed: UInt64) -> [Double] {
        var state = seed
        func next() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return (Double(z >> 11) + 0.5) * 0x1p-53      // in (0, 1)
        }
        let scale = 1 / Double(cols).squareRoot()
        var out = [Double](repeating: 0, count: rows * cols)
        var i = 0
        while i < out.count {
            let u1 = next(), u2 = next()
            let radius = (-2 * log(u1)).squareRoot()
            out[i] = radius * cos(2 * Double.pi * u2) * scale
            if i + 1 < out.count { out[i + 1] = radius * sin(2 * Double.pi * u2) * scale }
            i += 2
        }
        return out
    }
}
