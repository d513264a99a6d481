/// The values of another tensor scaled and shifted, y = x · scale + shift: a GGUF Gemma norm
/// stored as 1 + w (scale 1, shift −1 gives Hugging Face's w back), a LoRA bias update
/// (Δbias = scale · bias).
struct Affine: TensorSource {
    let base: TensorView
    let scale: Float
    let shift: Float

    var isWeight: Bool { base.isWeight }
    var unitRoundoff: Double { base.unitRoundoff }
    var typeName: String { base.typeName }

    func decode(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        try base.source.decode(range, into: target, cursor: cursor)
        for i in 0..<range.count { target[i] = target[i] * scale + shift }
    }

    func decodeSteps(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        try base.source.decodeSteps(range, into: target, cursor: cursor)
        for i in 0..<range.count { target[i] *= abs(scale) }
    }
}
