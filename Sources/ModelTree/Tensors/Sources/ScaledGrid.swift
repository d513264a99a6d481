/// A stored tensor whose values were found to lie on a grid of integers times a scale, one scale
/// per group of `group` consecutive elements (the whole tensor, a row, a block of 32): an int8
/// export dequantised and saved as F32 (`IntegerGrids`). The values are the base's; the steps
/// are the grid's, so that `GridEvidence` can test the model as the rounding of another.
struct ScaledGrid: TensorSource {
    let base: TensorView
    /// Elements per scale.
    let group: Int
    let scales: [Float]

    var isWeight: Bool { base.isWeight }
    /// Half a step of the 8-bit grid relative to the group's largest value (as `AffineIntegers`).
    var unitRoundoff: Double { 0x1p-8 }
    var typeName: String { "\(base.typeName) on an int8 grid" }
    var files: [CheckpointFile] { base.source.files }

    func decode(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        try base.source.decode(range, into: target, cursor: cursor)
    }

    func decodeSteps(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        for i in range { target[i - range.lowerBound] = scales[i / group] }
    }
}
