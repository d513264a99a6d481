/// The dense linear algebra the rank distance needs: transposes, products and a rank-revealing
/// QR on small matrices held as arrays. Matrices are row-major unless a function says otherwise.
enum LinearAlgebra {
    /// The transpose of a row-major `rows × cols` matrix, in cache-sized tiles. (A column-major
    /// `rows × cols` matrix is a row-major `cols × rows` one: pass the sides swapped.)
    static func transpose<T: Numeric>(_ a: [T], rows: Int, cols: Int) -> [T] {
        var t = [T](repeating: 0, count: a.count)
        let tile = 32
        a.withUnsafeBufferPointer { src in
            t.withUnsafeMutableBufferPointer { dst in
                var i0 = 0
                while i0 < rows {
                    var j0 = 0
                    while j0 < cols {
                        for i in i0..<Swift.min(rows, i0 + tile) {
                            for j in j0..<Swift.min(cols, j0 + tile) { dst[j * rows + i] = src[i * cols + j] }
                        }
                        j0 += tile
                    }
                    i0 += tile
                }
            }
        }
        return t
    }

    /// The `m × n` product of `a` (`m × k`) and `b` (`k × n`), through the matrix kernel of `T`
    /// in `kernels`.
    /// - Throws: `.outOfMemory` when the kernel's packing buffer cannot be allocated.
    static func multiply<T: MatrixScalar>(_ a: [T], _ m: Int, _ k: Int, _ b: [T], _ n: Int,
                                          kernels: KernelSet) throws -> [T] {
        precondition(a.count == m * k && b.count == k * n)
        guard m * n > 0 else { return [] }          // (see `Double.converting`)
        return try [T](unsafeUninitializedCapacity: m * n) { c, initialized in
            try a.withUnsafeBufferPointer { aBuf in
                try b.withUnsafeBufferPointer { bBuf in
                    if let A = aBuf.baseAddress, let B = bBuf.baseAddress, let C = c.baseAddress {
                        try T.multiply(kernels, A, rows: m, inner: k, B, columns: n, into: C)
                    } else if let C = c.baseAddress {
                        C.initialize(repeating: 0, count: m * n)      // k = 0: the empty sums
                    }
                }
            }
            initialized = m * n
        }
    }

    /// Numerical rank by Householder QR with column pivoting (Businger & Golub 1965), stopped as
    /// soon as every remaining column's norm is at most `tolerance`; destroys `a`
    /// (column-major `rows × cols`).
    ///
    /// Each step takes the largest remaining column, so the diagonal of R falls like the singular
    /// values; for a matrix with a clear gap (a low-rank update above rounding noise that stays
    /// below the tolerance) the count equals the number of singular values above the tolerance.
    /// Cost O(rows · cols · rank), against O(rows · cols² · sweeps) for a Jacobi SVD.
    /// The reflections run on `kernels` (`KernelSet.reflect`).
    static func pivotedQRRank(_ a: inout [Double], rows: Int, cols: Int, tolerance: Double,
                              kernels: KernelSet = .active) -> Int {
        let steps = Swift.min(rows, cols)
        let tol2 = tolerance * tolerance
        return a.withUnsafeMutableBufferPointer { buf -> Int in
            guard let m = buf.baseAddress else { return 0 }
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
                if vtv > 0 && k + 1 < cols {
                    kernels.reflect(col + k, length: rows - k, vtv: vtv, columns: m + (k + 1) * rows + k,
                                    stride: rows, count: cols - k - 1)
                    for j in (k + 1)..<cols {
                        let top = m[j * rows + k]
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
    static func swapColumns(_ x: UnsafeMutablePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ n: Int) {
        for i in 0..<n { let t = x[i]; x[i] = y[i]; y[i] = t }
    }
}

/// An element type the matrix kernels serve (Float and Double).
protocol MatrixScalar: BinaryFloatingPoint, SIMDScalar, Codable {
    /// `x` in this type: the array itself for Float, widened for Double.
    static func converting(_ x: [Float]) -> [Self]
    static func multiply(_ kernels: KernelSet, _ a: UnsafePointer<Self>, rows: Int, inner: Int, _ b: UnsafePointer<Self>,
                         columns: Int, into c: UnsafeMutablePointer<Self>) throws
}

extension Float: MatrixScalar {
    static func converting(_ x: [Float]) -> [Float] { x }
    static func multiply(_ kernels: KernelSet, _ a: UnsafePointer<Float>, rows: Int, inner: Int, _ b: UnsafePointer<Float>,
                         columns: Int, into c: UnsafeMutablePointer<Float>) throws {
        try kernels.multiply(a, rows: rows, inner: inner, b, columns: columns, into: c)
    }
}

extension Double: MatrixScalar {
    static func converting(_ x: [Float]) -> [Double] {
        // (Never `unsafeUninitializedCapacity: 0`: it writes the count of the shared empty
        // array's storage, a data race between threads that ThreadSanitizer reports.)
        guard !x.isEmpty else { return [] }
        return [Double](unsafeUninitializedCapacity: x.count) { out, initialized in
            x.withUnsafeBufferPointer { for i in 0..<$0.count { out[i] = Double($0[i]) } }
            initialized = x.count
        }
    }
    static func multiply(_ kernels: KernelSet, _ a: UnsafePointer<Double>, rows: Int, inner: Int, _ b: UnsafePointer<Double>,
                         columns: Int, into c: UnsafeMutablePointer<Double>) throws {
        try kernels.multiply(a, rows: rows, inner: inner, b, columns: columns, into: c)
    }
}
