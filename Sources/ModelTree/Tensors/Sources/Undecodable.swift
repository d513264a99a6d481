/// A tensor whose encoding libmodeltree cannot decode (GGUF's IQ*, TQ*, MXFP4 …): listed, with
/// its type, so that `inspect` shows it and a recovery names it in a warning, but never a weight
/// (no pass compares it) and never decoded — garbage would pass for weights.
struct Undecodable: TensorSource {
    let typeName: String
    /// Why, for the warning: "IQ2_XXS, which libmodeltree cannot dequantize".
    let reason: String

    var isWeight: Bool { false }
    var unitRoundoff: Double { 1 }

    func decode(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        throw ModelTreeError.format("a tensor of type \(reason)")
    }
}

extension TensorView {
    /// Why the tensor cannot be decoded, when it cannot (`Undecodable`).
    var undecodableReason: String? { (source as? Undecodable)?.reason }
}
