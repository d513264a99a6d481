/// The matrix product of the rank sketches: a row-major matrix times a matrix packed in panels.
///
/// As for `PairKernels`, the signatures (pointers and sizes, one per element type) are the
/// contract a run-time dispatched C implementation keeps; the Swift SIMD body is the portable
/// fallback. `LinearAlgebra.multiply` is the array-level entry point the sketches call.
enum MatrixKernels {
    /// `c` (row-major `m × n`) = `a` (row-major `m × k`) · B, where B (`k × n`) is given packed by
    /// `packPanels`. Accumulated in Float: the sketches of BF16 and F16 weights, whose rounding
    /// is far coarser than Float's.
    static func multiply(_ a: UnsafePointer<Float>, rows m: Int, inner k: Int, panels: UnsafePointer<Float>,
                         columns n: Int, into c: UnsafeMutablePointer<Float>) {
        panelMultiply(a, m, k, panels, n, c)
    }

    /// The same in Double: the sketches of F32 and F64 weights, whose tolerance is at Float's own
    /// rounding.
    static func multiply(_ a: UnsafePointer<Double>, rows m: Int, inner k: Int, panels: UnsafePointer<Double>,
                         columns n: Int, into c: UnsafeMutablePointer<Double>) {
        panelMultiply(a, m, k, panels, n, c)
    }

    /// A `k × n` matrix given by `element(i, j)` in panels of 8 columns: panel p holds columns
    /// 8p..<8p+8 as k consecutive groups of 8 (zero-padded), the layout `multiply` streams.
    static func packPanels<T: BinaryFloatingPoint>(_ k: Int, _ n: Int, _ element: (Int, Int) -> T) -> [T] {
        let panels = (n + 7) / 8
        var out = [T](repeating: 0, count: panels * k * 8)
        for p in 0..<panels {
            for i in 0..<k {
                for l in 0..<8 where p * 8 + l < n { out[(p * k + i) * 8 + l] = element(i, p * 8 + l) }
            }
        }
        return out
    }
}

/// 4 × 8 register tiles: four rows of `a` against one panel at a time.
@_specialize(where T == Float)
@_specialize(where T == Double)
private func panelMultiply<T: BinaryFloatingPoint & SIMDScalar>(_ A: UnsafePointer<T>, _ m: Int, _ k: Int,
                                                                _ B: UnsafePointer<T>, _ n: Int, _ C: UnsafeMutablePointer<T>) {
    typealias V = SIMD8<T>
    func store(_ v: V, row: Int, panel: Int) {
        for l in 0..<8 where panel * 8 + l < n { C[row * n + panel * 8 + l] = v[l] }
    }
    for p in 0..<((n + 7) / 8) {
        let panel = B + p * k * 8
        var i = 0
        while i + 4 <= m {
            var c0 = V(repeating: 0), c1 = V(repeating: 0), c2 = V(repeating: 0), c3 = V(repeating: 0)
            let a0 = A + i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k
            for l in 0..<k {
                let b = UnsafeRawPointer(panel + l * 8).loadUnaligned(as: V.self)
                c0 += V(repeating: a0[l]) * b
                c1 += V(repeating: a1[l]) * b
                c2 += V(repeating: a2[l]) * b
                c3 += V(repeating: a3[l]) * b
            }
            store(c0, row: i, panel: p); store(c1, row: i + 1, panel: p)
            store(c2, row: i + 2, panel: p); store(c3, row: i + 3, panel: p)
            i += 4
        }
        while i < m {
            var c0 = V(repeating: 0)
            let a0 = A + i * k
            for l in 0..<k { c0 += V(repeating: a0[l]) * UnsafeRawPointer(panel + l * 8).loadUnaligned(as: V.self) }
            store(c0, row: i, panel: p)
            i += 1
        }
    }
}
