import Glibc

/// The LoRA distance: for pairs of models, the numerical rank of `W_a − W_b` in every tensor.
///
/// A merged LoRA adapter changes a weight matrix by `B·A` of rank r, so a parent and its LoRA
/// child differ by rank r per adapted matrix, siblings by 2r, and so on (Horwitz et al. 2025).
/// Tensors of more than two dimensions are read as `shape[0] × (product of the rest)`.
///
/// Matrices whose smaller side exceeds `sketchColumns` are first multiplied by a fixed Gaussian
/// matrix Ω (the same for every model): `(W_a − W_b)·Ω = W_a·Ω − W_b·Ω`, so one sketch per model
/// serves every pair, and its rank equals the rank of the difference whenever that rank is below
/// the sketch size (with probability one).
enum RankDistances {
    static let sketchColumns = 256

    /// - Returns: `ranks[p][t]` for pair `pairs[p]` and tensor `tensorNames[t]`.
    /// - Parameter sketchSize: columns of the sketch (tests use a small one to exercise it cheaply).
    static func ranks(models: [Model], tensorNames: [String], pairs: [(Int, Int)], sketchSize: Int = sketchColumns,
                      progress: (Double) throws -> Void) throws -> [[Int]] {
        var result = [[Int]](repeating: [Int](repeating: 0, count: tensorNames.count), count: pairs.count)
        let involved = Array(Set(pairs.flatMap { [$0.0, $0.1] })).sorted()
        for (t, name) in tensorNames.enumerated() {
            let shape = models[involved[0]].tensor(named: name)!.shape
            let r = shape.first ?? 1
            let c = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
            // Orient so that rows ≥ columns; sketch the columns when they are too many.
            let transposed = c > r
            let rows = Swift.max(r, c), cols = Swift.min(r, c)
            let sketched = cols > sketchSize
            let k = sketched ? sketchSize : cols
            let omega = sketched ? gaussianMatrix(rows: cols, cols: k, seed: 0x5EED_0000 &+ UInt64(t)) : []

            var matrices = [Int: [Double]]()      // model → column-major rows × k
            var sumSquares = [Int: Double]()
            var roundoff = [Int: Double]()
            for m in involved {
                let view = models[m].tensor(named: name)!
                var values = [Float](repeating: 0, count: r * c)
                values.withUnsafeMutableBufferPointer { out in
                    view.dtype.decode(view.bytes.baseAddress!, count: r * c, into: out.baseAddress!)
                }
                var ss = 0.0
                for v in values { ss += Double(v) * Double(v) }
                sumSquares[m] = ss
                roundoff[m] = Swift.max(view.dtype.unitRoundoff, DType.f32.unitRoundoff)
                // Column-major rows × cols view of the (possibly transposed) row-major r × c data:
                // element (i, j) is values[i*c + j] untransposed, values[j*c + i] transposed.
                var full = [Double](repeating: 0, count: rows * cols)
                for j in 0..<cols {
                    for i in 0..<rows {
                        full[j * rows + i] = Double(transposed ? values[j * c + i] : values[i * c + j])
                    }
                }
                matrices[m] = sketched ? multiply(full, rows: rows, inner: cols, omega, cols: k) : full
            }
            for (p, pair) in pairs.enumerated() {
                let a = matrices[pair.0]!, b = matrices[pair.1]!
                var diff = [Double](repeating: 0, count: a.count)
                for i in 0..<a.count { diff[i] = a[i] - b[i] }
                let rmsWeight = ((sumSquares[pair.0]! + sumSquares[pair.1]!) / Double(2 * r * c)).squareRoot()
                let tol = NumericalRank.tolerance(
                    unitRoundoff: Swift.max(roundoff[pair.0]!, roundoff[pair.1]!), rmsWeight: rmsWeight,
                    rows: rows, cols: k, scale: sketched ? (Double(cols) / Double(k)).squareRoot() : 1)
                result[p][t] = NumericalRank.rank(diff, rows: rows, cols: k, tolerance: tol)
            }
            try progress(Double(t + 1) / Double(tensorNames.count))
        }
        return result
    }

    /// Column-major product (rows × inner) · (inner × cols).
    static func multiply(_ a: [Double], rows: Int, inner: Int, _ b: [Double], cols: Int) -> [Double] {
        var out = [Double](repeating: 0, count: rows * cols)
        for j in 0..<cols {
            for l in 0..<inner {
                let s = b[j * inner + l]
                if s == 0 { continue }
                for i in 0..<rows { out[j * rows + i] += a[l * rows + i] * s }
            }
        }
        return out
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

