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
        let (r, c, t) = rows >= cols ? (rows, cols, a) : (cols, rows, transpose(a, rows: rows, cols: cols))
        return singularValues(t, rows: r, cols: c).filter { $0 > tolerance }.count
    }

    /// Column-major transpose.
    static func transpose(_ a: [Double], rows: Int, cols: Int) -> [Double] {
        var t = [Double](repeating: 0, count: a.count)
        for j in 0..<cols { for i in 0..<rows { t[i * cols + j] = a[j * rows + i] } }
        return t
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
