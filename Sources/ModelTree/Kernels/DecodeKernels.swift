import ModelTreeKernels

/// The decode kernels (`decode.inc`): stored elements to Float, the first step of every pass.
extension KernelSet {
    /// Decodes `count` little-endian elements of `dtype` starting at `source` (any alignment)
    /// into `target`. BF16, F16 and F32 are exact — the same floats from every set, F16 by the
    /// CPU's conversion instruction where the set has one — and F64 is rounded to nearest.
    /// - Precondition: `dtype.isFloatingPoint`.
    func decode(_ dtype: DType, _ source: UnsafeRawPointer, count: Int, into target: UnsafeMutablePointer<Float>) {
        let k = table.pointee
        switch dtype {
        case .bf16: k.decode_bf16(source, count, target)
        case .f16: k.decode_f16(source, count, target)
        case .f32: k.decode_f32(source, count, target)
        case .f64: k.decode_f64(source, count, target)
        default: preconditionFailure("decode called on non-floating dtype \(dtype.rawValue)")
        }
    }
}
