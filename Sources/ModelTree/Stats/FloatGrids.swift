/// Float tensors whose values all belong to a narrower float type than the one stored: BF16 or
/// F16 values in an F32 file. A cast saved back as F32 is as much a lower-precision copy as one
/// stored as BF16 (issue 12's `quantized`), and its rows are rounded as coarsely
/// (`UntouchedRows`); read at F32's grid it looked like a fine-tune, sure (measured: a BF16 and
/// an F16 cast of a synthetic family's root, each typed `finetune` at 0.92).
enum FloatGrids {
    /// The narrowest type every one of `values` is a value of — BF16 (the low 16 bits of each F32
    /// pattern zero), else F16 — nil when neither (or when there are no values).
    static func narrowest<C: Collection>(_ values: C) -> DType? where C.Element == Float {
        guard !values.isEmpty else { return nil }
        let (bf16, f16) = holds(values)
        return bf16 ? .bf16 : f16 ? .f16 : nil
    }

    /// Whether every one of `values` is a BF16 value, and whether every one is an F16 value.
    static func holds<C: Collection>(_ values: C) -> (bf16: Bool, f16: Bool) where C.Element == Float {
        (values.allSatisfy { $0.bitPattern & 0xFFFF == 0 }, values.allSatisfy { Float(Float16($0)) == $0 })
    }

    /// Elements read per piece.
    static let chunk = 1 << 18
    /// The first piece, which screens a tensor: an F32 value that is no BF16 value has one of
    /// 2^16 patterns of low bits, so a trained F32 tensor fails within a few elements, and the
    /// test of every F32 model costs about a page per tensor (a larger first piece read a quarter
    /// of an F32 benchmark family's weights again).
    static let screen = 1 << 10

    /// The narrower type `tensor` (stored as F32 or F64) holds throughout; nil when none.
    static func narrowType(_ tensor: TensorView) throws -> DType? {
        guard tensor.isWeight, tensor.unitRoundoff <= DType.f32.unitRoundoff, tensor.count > 0 else { return nil }
        var bf16 = true, f16 = true
        var buffer = [Float](repeating: 0, count: Swift.min(tensor.count, chunk))
        var start = 0
        while start < tensor.count && (bf16 || f16) {
            let end = Swift.min(tensor.count, start + (start == 0 ? screen : chunk))
            let piece = try buffer.withUnsafeMutableBufferPointer { b in
                try tensor.decode(start..<end, into: b.baseAddress!)
                return holds(b[..<(end - start)])
            }
            bf16 = bf16 && piece.bf16
            f16 = f16 && piece.f16
            start = end
        }
        return bf16 ? .bf16 : f16 ? .f16 : nil
    }

    /// `model` with each of `tensors` that holds a narrower type's values read through a
    /// `NarrowFloat`, and the coarsest such type's unit roundoff; nil when none does.
    static func regridded(_ model: Model, tensors: [String]) throws -> (model: Model, rounding: Double)? {
        var replaced: [String: TensorView] = [:]
        var rounding = 0.0
        for name in tensors {
            guard let t = model.tensor(named: name), let type = try narrowType(t) else { continue }
            replaced[name] = TensorView(name: name, shape: t.shape, source: NarrowFloat(base: t, dtype: type))
            rounding = Swift.max(rounding, type.unitRoundoff)
        }
        guard !replaced.isEmpty else { return nil }
        return (try model.replacingTensors(model.tensors.map { replaced[$0.name] ?? $0 }), rounding)
    }
}
