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
    ///   - threads: worker threads; results do not depend on it.
    ///   - kernels: the vector kernels of the sketch products.
    ///   - progress: called on the caller's thread after each tensor with the fraction done.
    static func ranks(models: [Model], tensorNames: [String], pairs: [(Int, Int)], sketchSize: Int = sketchColumns,
                      threads: Int = defaultThreadCount, kernels: KernelSet = .active,
                      progress: (Double) throws -> Void) throws -> [[Int]] {
        var result = [[Int]](repeating: [Int](repeating: 0, count: tensorNames.count), count: pairs.count)
        guard !pairs.isEmpty else { return result }
        for (t, name) in tensorNames.enumerated() {
            let tensor = try TensorSketches(models: models, tensor: name, index: t, involved: pairs, sketchSize: sketchSize,
                                            threads: threads, kernels: kernels)
            let ranks = try tensor.ranks(pairs)
            for p in pairs.indices { result[p][t] = ranks[p] }
            try progress(Double(t + 1) / Double(tensorNames.count))
        }
        return result
    }

    /// The `auto` metric's test — is every nearest pair's difference of low rank in every
    /// tensor? — and, while it holds, the rank distance, in one pass over the tensors, so that
    /// each model's sketch of a tensor is made once for both. On every tensor the `nearest`
    /// pairs are ranked first, in chunks of 8 (of 1 for the first pair), and the call stops at
    /// the first rank above the tensor's limit; on the first tensor a submatrix of the first
    /// pair's difference is tried before anything is sketched (`exceedsOnColumns`), which is
    /// where a full fine-tune stops. Otherwise the ranks of every pair of `pairs` follow.
    /// - Parameter sumSquares: `[t][m]`: Σ w² of tensor `tensorNames[t]` of model m.
    /// - Returns: nil when a nearest pair's rank exceeds its tensor's limit; else the ranks of
    ///   `nearest` and of `pairs`, `[p][t]` as `ranks`.
    static func screenedRanks(models: [Model], tensorNames: [String], nearest: [(Int, Int)], limits: [Int],
                              sumSquares: [[Double]], pairs: [(Int, Int)], threads: Int = defaultThreadCount,
                              kernels: KernelSet = .active,
                              progress: (Double) throws -> Void) throws -> (nearest: [[Int]], pairs: [[Int]])? {
        var screened = [[Int]](repeating: [Int](repeating: -1, count: tensorNames.count), count: nearest.count)
        var all = [[Int]](repeating: [Int](repeating: 0, count: tensorNames.count), count: pairs.count)
        guard !nearest.isEmpty else { return nil }
        for (t, name) in tensorNames.enumerated() {
            if t == 0 {
                let (a, b) = nearest[0]
                if try exceedsOnColumns(models[a].tensor(named: name)!, models[b].tensor(named: name)!, limit: limits[0],
                                        sumSquares: sumSquares[0][a] + sumSquares[0][b]) != nil { return nil }
            }
            let tensor = try TensorSketches(models: models, tensor: name, index: t, involved: nearest + pairs,
                                            sketchSize: sketchColumns, threads: threads, kernels: kernels)
            guard try tensor.ranks(nearest, tensorIndex: t, limit: limits[t], into: &screened) else { return nil }
            let ranks = try tensor.ranks(pairs)
            for p in pairs.indices { all[p][t] = ranks[p] }
            try progress(Double(t + 1) / Double(tensorNames.count))
        }
        return (screened, all)
    }

    /// One tensor's sketches: the plans (the small one tried first, the big one made only when a
    /// pair saturates the small one), the reference, and every model's sketch once made.
    final class TensorSketches {
        let models: [Model], name: String, index: Int
        let threads: Int, kernels: KernelSet
        let sketchSize: Int
        let shape: [Int]
        let reference: [Float]
        let precise: Bool
        let small: SketchPlan?
        private var big: SketchPlan?
        private var smallSketches = [Int: Sketch](), bigSketches = [Int: Sketch]()

        /// - Parameter involved: the pairs that may be ranked (the lowest model in them is the
        ///   reference; F32 or F64 among them sketches in Double).
        init(models: [Model], tensor name: String, index t: Int, involved: [(Int, Int)], sketchSize: Int,
             threads: Int, kernels: KernelSet) throws {
            self.models = models; self.name = name; index = t
            self.threads = threads; self.kernels = kernels; self.sketchSize = sketchSize
            let members = Set(involved.flatMap { [$0.0, $0.1] })
            let first = members.min()!
            shape = models[first].tensor(named: name)!.shape
            reference = try models[first].tensor(named: name)!.decode()
            precise = members.contains { models[$0].tensor(named: name)!.unitRoundoff < 0x1p-16 }
            let columns = Swift.min(shape.first ?? 1, shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1)
            small = Swift.min(columns, sketchSize) > smallColumns
                ? SketchPlan(shape: shape, sketchSize: smallColumns, extraRows: smallRows - smallColumns,
                             seed: 0x100_0000 &+ UInt64(t), precise: precise)
                : nil
        }

        /// The big plan, made on first use (its random matrices are most of a plan's cost).
        private func bigPlan() -> SketchPlan {
            if let big { return big }
            let plan = SketchPlan(shape: shape, sketchSize: sketchSize, extraRows: extraRows, seed: UInt64(index), precise: precise)
            big = plan
            return plan
        }

        /// Sketches `wanted` models (those not done yet) into `cache`, in parallel.
        private func ensure(_ plan: SketchPlan, _ wanted: [Int], _ cache: inout [Int: Sketch]) throws {
            let missing = Array(Set(wanted)).filter { cache[$0] == nil }.sorted()
            guard !missing.isEmpty else { return }
            let made = UnsafeMutablePointer<Sketch?>.allocate(capacity: missing.count)
            made.initialize(repeating: nil, count: missing.count)
            defer { made.deinitialize(count: missing.count); made.deallocate() }
            // Each item writes its own slot; they are read after every thread joined.
            nonisolated(unsafe) let out = made
            let (models, name, reference, precise, kernels) = (models, name, reference, precise, kernels)
            try parallelForEach(missing.count, threads: threads) { i, _ in
                out[i] = try plan.sketch(models[missing[i]].tensor(named: name)!, reference: reference, precise: precise,
                                         kernels: kernels)
            }
            for (i, m) in missing.enumerated() { cache[m] = made[i]! }
        }

        /// Ranks of `part` under `plan`, in parallel.
        private func rank(_ plan: SketchPlan, _ part: [(Int, Int)], _ cache: [Int: Sketch]) -> [Int] {
            var out = [Int](repeating: 0, count: part.count)
            let kernels = kernels
            out.withUnsafeMutableBufferPointer { buf in
                nonisolated(unsafe) let p = buf.baseAddress!   // one slot per item, as above
                parallelForEach(part.count, threads: threads) { i, _ in
                    p[i] = plan.rank(cache[part[i].0]!, cache[part[i].1]!, kernels: kernels)
                }
            }
            return out
        }

        /// The ranks of `part`: on the small sketch, and on the big one for pairs that saturate it.
        func ranks(_ part: [(Int, Int)]) throws -> [Int] {
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
                let big = bigPlan()
                try ensure(big, again.flatMap { [$0.0, $0.1] }, &bigSketches)
                for (i, r) in zip(saturated, rank(big, again, bigSketches)) { ranks[i] = r }
            }
            return ranks
        }

        /// Ranks `pairs` into `result[p][tensorIndex]` in chunks of a fixed size (never the
        /// thread count), stopping after the chunk where a rank exceeds `limit`. On the first
        /// tensor the first chunk is one pair, so that a full fine-tune stops after two sketches.
        /// - Returns: false when a rank exceeded the limit.
        func ranks(_ pairs: [(Int, Int)], tensorIndex t: Int, limit: Int, into result: inout [[Int]]) throws -> Bool {
            var first = 0
            while first < pairs.count {
                let chunk = first == 0 && t == 0 ? 1 : 8
                let part = Array(pairs[first..<Swift.min(pairs.count, first + chunk)])
                let ranks = try ranks(part)
                for i in 0..<part.count { result[first + i][t] = ranks[i] }
                if ranks.contains(where: { $0 > limit }) { return false }
                first += part.count
            }
            return true
        }
    }

    /// A cheap proof that `rank(W_a − W_b) > limit`: the numerical rank of a submatrix of the
    /// difference — `limit + 1` evenly spaced columns of `limit + 1 + extraRows` evenly spaced
    /// rows — against the whole matrix's tolerance is a lower bound of the whole one's, since a
    /// submatrix's singular values never exceed the matrix's (Cauchy interlacing). Returns that
    /// rank when it exceeds `limit`, nil when it does not (a low-rank difference: the caller
    /// sketches as usual) or cannot apply. Only the rows (or columns) sampled are decoded.
    /// Cost O((limit + extraRows) · limit²) and no sketch: the `auto` metric's test on a full
    /// fine-tune of 2048 × 2048 matrices costs a 320 × 256 QR instead of two sketches.
    /// - Parameter sumSquares: Σ w² over both whole tensors (the tolerance's weight scale).
    static func exceedsOnColumns(_ a: TensorView, _ b: TensorView, limit: Int, sumSquares: Double) throws -> Int? {
        let r = a.shape.first ?? 1
        let c = a.shape.count > 1 ? a.shape.dropFirst().reduce(1, *) : 1
        let transposed = c > r, rows = Swift.max(r, c), cols = Swift.min(r, c)
        let k = limit + 1, m = Swift.min(rows, limit + 1 + extraRows)
        guard k <= cols, k > 0, sumSquares.isFinite else { return nil }
        // Stored rows hold a sampled row of the oriented matrix (or, transposed, a sampled column).
        let sampled = transposed ? (0..<k).map { $0 * cols / k } : (0..<m).map { $0 * rows / m }
        let across = transposed ? (0..<m).map { $0 * rows / m } : (0..<k).map { $0 * cols / k }
        var d = [Double](repeating: 0, count: m * k)      // column-major m × k
        var rowA = [Float](repeating: 0, count: c), rowB = rowA
        for (s, stored) in sampled.enumerated() {
            try rowA.withUnsafeMutableBufferPointer { try a.decode((stored * c)..<(stored * c + c), into: $0.baseAddress!) }
            try rowB.withUnsafeMutableBufferPointer { try b.decode((stored * c)..<(stored * c + c), into: $0.baseAddress!) }
            for (t, j) in across.enumerated() {
                let (p, q) = transposed ? (t, s) : (s, t)
                d[q * m + p] = Double(rowA[j]) - Double(rowB[j])
            }
        }
        let u = Swift.max(a.unitRoundoff, b.unitRoundoff, DType.f32.unitRoundoff)
        let tol = NumericalRank.tolerance(unitRoundoff: u, rmsWeight: (sumSquares / Double(2 * r * c)).squareRoot(),
                                          rows: rows, cols: cols)
        let found = LinearAlgebra.pivotedQRRank(&d, rows: m, cols: k, tolerance: tol)
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
        /// Ω row-major (cols × sketchCols, N(0, 1/sketchCols)), empty when not used; and widened
        /// to Double when the plan sketches in Double (`precise`).
        let omega: [Float], omega64: [Double]
        /// Ψᵀ row-major (sketchRows × rows, N(0, 1/sketchRows)), empty when not used; and widened.
        let psiT: [Float], psiT64: [Double]

        init(shape: [Int], sketchSize: Int, extraRows: Int, seed: UInt64, precise: Bool) {
            r = shape.first ?? 1
            c = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
            transposed = c > r
            rows = Swift.max(r, c); cols = Swift.min(r, c)
            sketchCols = cols > sketchSize ? sketchSize : cols
            sketchRows = rows > sketchCols + extraRows ? sketchCols + extraRows : rows
            let (n, k) = (cols, sketchCols)
            if k < n {
                // Column-major n × k, stored row-major.
                omega = LinearAlgebra.transpose(RankDistances.gaussianMatrix(rows: n, cols: k, seed: 0x5EED_0000 &+ seed),
                                                rows: k, cols: n).map(Float.init)
            } else {
                omega = []
            }
            if sketchRows < rows {
                let psi = RankDistances.gaussianMatrix(rows: rows, cols: sketchRows, seed: 0x5EED_8000 &+ seed)  // column-major rows × R
                psiT = psi.map(Float.init)       // column-major rows × R is row-major R × rows
            } else {
                psiT = []
            }
            omega64 = precise ? Double.converting(omega) : []
            psiT64 = precise ? Double.converting(psiT) : []
        }

        /// Ψᵀ · (W − reference) · Ω, column-major, with the norm and roundoff of W. Computed in
        /// Float when every involved model is stored in BF16 or F16 (`precise` false): the
        /// Float rounding of the product, relative to the deltas, is then orders of magnitude
        /// below the tolerance. F32 and F64 weights, whose tolerance is at Float's own rounding,
        /// are sketched in Double.
        func sketch(_ view: TensorView, reference: [Float], precise: Bool, kernels: KernelSet) throws -> Sketch {
            let s = precise ? try sketch(view, reference: reference, as: Double.self, kernels: kernels)
                            : try sketch(view, reference: reference, as: Float.self, kernels: kernels)
            if s.sumSquares.isFinite && s.values.allSatisfy(\.isFinite) { return s }
            // Finite weights beyond ~1.8e19 overflow a Float square (beyond ~1.7e38, a Float
            // difference): redone with every step in Double, where nothing a Float holds can.
            return try sketch(view, reference: reference, as: Double.self, kernels: kernels, wide: true)
        }

        /// The random matrices in `T` (the stored widened copies, or widened now).
        private func matrices<T: MatrixScalar>(_: T.Type) -> (omega: [T], psiT: [T]) {
            if T.self == Double.self, omega64.count == omega.count, psiT64.count == psiT.count {
                return (omega64 as! [T], psiT64 as! [T])
            }
            return (T.converting(omega), T.converting(psiT))
        }

        @_specialize(where T == Float)
        @_specialize(where T == Double)
        func sketch<T: MatrixScalar>(_ view: TensorView, reference: [Float], as: T.Type, kernels: KernelSet,
                                     wide: Bool = false) throws -> Sketch {
            var w = try view.decode()
            let count = w.count
            var ss = 0.0
            let a: [T]
            if wide {
                for x in w { ss += Double(x) * Double(x) }
                let d = (0..<count).map { T(w[$0]) - T(reference[$0]) }
                a = transposed ? LinearAlgebra.transpose(d, rows: r, cols: c) : d
            } else {
                // Σ w² by the moment kernel (about 0), then w − reference in place.
                ss = w.withUnsafeBufferPointer { p in
                    p.baseAddress.map { kernels.momentSums($0, count: count, shift: 0, extremes: false).s2 } ?? 0
                }
                w.withUnsafeMutableBufferPointer { wp in
                    reference.withUnsafeBufferPointer { rp in for i in 0..<count { wp[i] -= rp[i] } }
                }
                // A: rows × cols row-major.
                a = T.converting(transposed ? LinearAlgebra.transpose(w, rows: r, cols: c) : w)
            }
            let (omega, psiT) = matrices(T.self)
            // Y = A·Ω: rows × sketchCols row-major.
            let y: [T] = omega.isEmpty ? a : try LinearAlgebra.multiply(a, rows, cols, omega, sketchCols, kernels: kernels)
            // Z = Ψᵀ·Y: sketchRows × sketchCols row-major.
            let k = sketchCols
            let z: [T] = psiT.isEmpty ? y : try LinearAlgebra.multiply(psiT, sketchRows, rows, y, k, kernels: kernels)
            var values = [Double](repeating: 0, count: z.count)      // column-major
            for i in 0..<sketchRows { for j in 0..<k { values[j * sketchRows + i] = Double(z[i * k + j]) } }
            return Sketch(values: values, sumSquares: ss,
                          unitRoundoff: Swift.max(view.unitRoundoff, DType.f32.unitRoundoff))
        }

        /// Numerical rank of the difference of two sketches (see the type's documentation).
        func rank(_ a: Sketch, _ b: Sketch, kernels: KernelSet) -> Int {
            NumericalRank.rankOfDifference(a.values, b.values, rows: sketchRows, columns: sketchCols, matrixRows: rows,
                                           matrixColumns: cols, sumSquares: a.sumSquares + b.sumSquares,
                                           unitRoundoff: Swift.max(a.unitRoundoff, b.unitRoundoff), kernels: kernels)
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
