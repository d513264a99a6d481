/// A tensor stored as F32 whose every value is a value of a narrower float type: a model cast to
/// BF16 or F16 and saved back as F32 (`model.to(torch.bfloat16).float()`, a conversion script)
/// (`FloatGrids`). The values are the base's; the grid is the narrower type's, so that
/// `GridEvidence` can test the model as a cast of another, as it does one stored as BF16.
struct NarrowFloat: TensorSource {
    let base: TensorView
    /// The type whose values the base holds.
    let dtype: DType

    var isWeight: Bool { base.isWeight }
    var unitRoundoff: Double { dtype.unitRoundoff }
    var typeName: String { "\(base.typeName) holding \(dtype.rawValue) values" }
    var minimumExponent: Int { dtype.minimumExponent }
    var files: [CheckpointFile] { base.source.files }

    /// The base's values; their steps are the narrower type's spacing (the default `decodeSteps`).
    func decode(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        try base.source.decode(range, into: target, cursor: cursor)
    }
}
