import ModelTreeKernels

/// The matrix kernels of the rank sketches: products (`gemm.inc`) and the Householder step of
/// the pivoted QR (`reflect.inc`).
extension KernelSet {
    /// `c` (row-major `m × n`, overwritten) = `a` (row-major `m × k`) · `b` (row-major `k × n`),
    /// every entry one chain of multiply-adds in the order of the inner index, in Float: the
    /// sketches of BF16 and F16 weights, whose rounding is far coarser than Float's.
    /// - Throws: `.outOfMemory` when the kernel's packing buffer cannot be allocated.
    func multiply(_ a: UnsafePointer<Float>, rows m: Int, inner k: Int, _ b: UnsafePointer<Float>, columns n: Int,
                  into c: UnsafeMutablePointer<Float>) throws {
        guard table.pointee.gemm_f32(m, n, k, a, k, b, n, c, n) == 0 else { throw Self.packingFailed(m, n, k) }
    }

    /// The same in Double: the sketches of F32 and F64 weights, whose tolerance is at Float's own
    /// rounding.
    func multiply(_ a: UnsafePointer<Double>, rows m: Int, inner k: Int, _ b: UnsafePointer<Double>, columns n: Int,
                  into c: UnsafeMutablePointer<Double>) throws {
        guard table.pointee.gemm_f64(m, n, k, a, k, b, n, c, n) == 0 else { throw Self.packingFailed(m, n, k) }
    }

    /// Applies the Householder reflector I − 2vvᵀ/(vᵀv) to `count` columns of a column-major
    /// matrix: column j holds `length` doubles at `columns + j * stride`, `v` holds `length`
    /// doubles, `vtv` = vᵀv > 0.
    func reflect(_ v: UnsafePointer<Double>, length: Int, vtv: Double, columns: UnsafeMutablePointer<Double>,
                 stride: Int, count: Int) {
        table.pointee.reflect(v, length, vtv, columns, stride, count)
    }

    private static func packingFailed(_ m: Int, _ n: Int, _ k: Int) -> ModelTreeError {
        .outOfMemory("no memory for the packing buffer of a \(m) × \(k) by \(k) × \(n) sketch product")
    }
}
