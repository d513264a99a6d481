/// Singular values and numerical rank of small dense matrices, for the LoRA distance.
///
/// One-sided Jacobi (Hestenes 1958): rotate pairs of columns until all are mutually orthogonal;
/// the column norms are then the singular values. Simple, and accurate to double precision even
/// for tiny singular values, which is what telling rounding noise from a low-rank update needs.
enum NumericalRank {
    /// Singular values (descending) of the column-major `rows × cols` matrix `a`.
    /// Works on a copy; cost O(rows · cols² · sweeps).
    static func singularValues(_ a: [Double], rows: Int, cols: Int) -> [Double] {
        precondition(a.count == rows * cols)
        var m = a
        let eps = 1e-15
        for _ in 0..<60 {
            var rotated = false
            for p in 0..<cols {
                for q in (p + 1)..<cols {
                    var alpha = 0.0, beta = 0.0, gamma = 0.0
                    let pOff = p * rows, qOff = q * rows
                    for i in 0..<rows {
                        let x = m[pOff + i], y = m[qOff + i]
                        alpha += x * x; beta += y * y; gamma += x * y
                    }
                    if gamma == 0 || Swift.abs(gamma) <= eps * (alpha * beta).squareRoot() { continue }
                    rotated = true
                    let zeta = (beta - alpha) / (2 * gamma)
                    let t = (zeta >= 0 ? 1.0 : -1.0) / (Swift.abs(zeta) + (1 + zeta * zeta).squareRoot())
                    let c = 1 / (1 + t * t).squareRoot(), s = c * t
                    for i in 0..<rows {
                        let x = m[pOff + i], y = m[qOff + i]
                        m[pOff + i] = c * x - s * y
                        m[qOff + i] = s * x + c * y
                    }
                }
            }
            if !rotated { break }
        }
        var sigma = [Double](repeating: 0, count: cols)
        for j in 0..<cols {
            var s = 0.0
            for i in 0..<rows { s += m[j * rows + i] * m[j * rows + i] }
            sigma[j] = s.squareRoot()
        }
        return sigma.sorted(by: >)
    }

    /// Number of singular values above `tolerance`.
    static func rank(_ a: [Double], rows: Int, cols: Int, tolerance: Double) -> Int {
        // Column-major rows × cols is row-major cols × rows: the shared tiled transpose serves.
        let (r, c, t) = rows >= cols ? (rows, cols, a) : (cols, rows, transpose(a, rows: cols, cols: rows))
        return singularValues(t, rows: r, cols: c).filter { $0 > tolerance }.count
    }

    /// The rank tolerance for the difference of two stored matrices.
    ///
    /// Each stored weight carries a rounding error of at most `u·|w|` (`u` the unit roundoff of
    /// its dtype, and at least that of Float, in which the engine computes). Modelled as
    /// independent and uniform, the error of a difference has entries of standard deviation
    /// `s = u · rms(w) · √(2/3)`, and a random `rows × cols` matrix of such entries has spectral
    /// norm close to `s · (√rows + √cols)` (Marchenko–Pastur edge). A singular value counts when
    /// it exceeds twice that: rounding noise never does, a real update above the storage precision
    /// does. `scale` is the gain of a sketch applied to the columns (1 without a sketch).
    static func tolerance(unitRoundoff u: Double, rmsWeight: Double, rows: Int, cols: Int, scale: Double = 1) -> Double {
        let s = u * rmsWeight * (2.0 / 3.0).squareRoot()
        return 2 * s * scale * (Double(rows).squareRoot() + Double(cols).squareRoot())
    }
}

extension NumericalRank {
    /// Numerical rank by Householder QR with column pivoting (Businger & Golub 1965), stopped as
    /// soon as every remaining column's norm is at most `tolerance`; destroys `a`
    /// (column-major `rows × cols`).
    ///
    /// Each step takes the largest remaining column, so the diagonal of R falls like the singular
    /// values; for a matrix with a clear gap (a low-rank update above rounding noise that stays
    /// below the tolerance) the count equals the number of singular values above the tolerance.
    /// Cost O(rows · cols · rank), against O(rows · cols² · sweeps) for `singularValues`.
    static func pivotedRank(_ a: inout [Double], rows: Int, cols: Int, tolerance: Double) -> Int {
        let steps = Swift.min(rows, cols)
        let tol2 = tolerance * tolerance
        return a.withUnsafeMutableBufferPointer { buf -> Int in
            let m = buf.baseAddress!
            var norms = [Double](repeating: 0, count: cols)
            for j in 0..<cols { norms[j] = sumOfSquares(m + j * rows, rows) }
            var rank = 0
            while rank < steps {
                let k = rank
                var p = k
                for j in (k + 1)..<cols where norms[j] > norms[p] { p = j }
                // Downdated norms drift: confirm the pivot's before trusting it.
                norms[p] = sumOfSquares(m + p * rows + k, rows - k)
                if norms[p] <= tol2 {
                    var any = false
                    for j in k..<cols {
                        norms[j] = sumOfSquares(m + j * rows + k, rows - k)
                        if norms[j] > tol2 { any = true }
                    }
                    if !any { break }
                    continue
                }
                if p != k {
                    swapColumns(m + k * rows, m + p * rows, rows)
                    norms.swapAt(k, p)
                }
                // Householder vector v (in place of column k below the diagonal), beta = 2 / vᵀv.
                let col = m + k * rows
                let alpha = norms[k].squareRoot() * (col[k] >= 0 ? -1 : 1)
                col[k] -= alpha
                let vtv = sumOfSquares(col + k, rows - k)
                if vtv > 0 {
                    for j in (k + 1)..<cols {
                        let cj = m + j * rows
                        let s = 2 * dot(col + k, cj + k, rows - k) / vtv
                        axpy(-s, col + k, cj + k, rows - k)
                        let top = cj[k]
                        norms[j] = Swift.max(0, norms[j] - top * top)
                    }
                }
                rank += 1
            }
            return rank
        }
    }

    @inline(__always)
    static func sumOfSquares(_ x: UnsafePointer<Double>, _ n: Int) -> Double { dot(x, x, n) }

    @inline(__always)
    static func dot(_ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>, _ n: Int) -> Double {
        typealias V = SIMD4<Double>
        var a0 = V(repeating: 0), a1 = V(repeating: 0)
        var i = 0
        while i + 8 <= n {
            a0 += UnsafeRawPointer(x + i).loadUnaligned(as: V.self) * UnsafeRawPointer(y + i).loadUnaligned(as: V.self)
            a1 += UnsafeRawPointer(x + i + 4).loadUnaligned(as: V.self) * UnsafeRawPointer(y + i + 4).loadUnaligned(as: V.self)
            i += 8
        }
        var s = (a0 + a1).sum()
        while i < n { s += x[i] * y[i]; i += 1 }
        return s
    }

    @inline(__always)
    static func axpy(_ alpha: Double, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ n: Int) {
        typealias V = SIMD4<Double>
        let s = V(repeating: alpha)
        var i = 0
        while i + 4 <= n {
            let v = UnsafeRawPointer(y + i).loadUnaligned(as: V.self) + s * UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: v, as: V.self)
            i += 4
        }
        while i < n { y[i] += alpha * x[i]; i += 1 }
    }

    @inline(__always)
    static func swapColumns(_ x: UnsafeMutablePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ n: Int) {
        for i in 0..<n { let t = x[i]; x[i] = y[i]; y[i] = t }
    }
}
