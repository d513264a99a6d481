@testable import ModelTree

/// The tests' exact oracle for ranks: singular values by one-sided Jacobi (Hestenes 1958) —
/// rotate pairs of columns until all are mutually orthogonal; the column norms are then the
/// singular values. Slow (O(rows · cols² · sweeps)) but accurate to double precision even for
/// tiny singular values, independent of the QR and the sketches the engine uses.
enum JacobiSVD {
    /// Singular values (descending) of the column-major `rows × cols` matrix `a`.
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

    /// Number of singular values above `tolerance` of the column-major `rows × cols` matrix.
    static func rank(_ a: [Double], rows: Int, cols: Int, tolerance: Double) -> Int {
        // Column-major rows × cols is row-major cols × rows: transpose it when it is wide.
        let (r, c, t) = rows >= cols ? (rows, cols, a) : (cols, rows, LinearAlgebra.transpose(a, rows: cols, cols: rows))
        return singularValues(t, rows: r, cols: c).filter { $0 > tolerance }.count
    }
}
