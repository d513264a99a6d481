/// A GGUF tensor in one of ggml's encodings (F32, F16, BF16, and the block quantizations Q8_0 …
/// Q6_K): blocks of `type.blockSize` elements stored in `type.typeSize` bytes, dequantized by
/// `GGMLDequantizer` a block at a time as a pass asks for them — a model is never decoded whole.
///
/// The passes ask for ranges aligned to `TensorView.rangeAlignment` (256, a multiple of every
/// block size), so their ranges are whole blocks and decode straight into the target; any other
/// range (`TensorView.decode`) decodes its covering blocks into scratch and copies what was asked.
struct GGMLBlocks: TensorSource {
    let type: GGMLType
    let storage: TensorStorage

    /// - Precondition: `type.canDequantize` (the reader refuses the others, naming them).
    init(type: GGMLType, storage: TensorStorage) {
        precondition(type.canDequantize, "no dequantizer for \(type.name)")
        self.type = type
        self.storage = storage
    }

    var isWeight: Bool { true }
    var typeName: String { type.name }

    /// The relative rounding of the encoding: a type's own for the floats; for a quantization of
    /// b bits a value, half a step of the 2^b-level grid relative to the block's largest value,
    /// 2^-b (the grid is symmetric around 0 for the _0 types, and the K-quants' sub-block scales
    /// add little to it).
    var unitRoundoff: Double {
        switch type {
        case .f32: return DType.f32.unitRoundoff
        case .f16: return DType.f16.unitRoundoff
        case .bf16: return DType.bf16.unitRoundoff
        case .f64: return DType.f64.unitRoundoff
        case .q8_0, .q8_1, .q8_K: return 0x1p-8
        case .q6_K: return 0x1p-6
        case .q5_0, .q5_1, .q5_K: return 0x1p-5
        case .q4_0, .q4_1, .q4_K: return 0x1p-4
        case .q3_K: return 0x1p-3
        default: return 0x1p-2
        }
    }

    func decode(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        try walk(range, into: target, cursor: cursor) { GGMLDequantizer.decode(type, $0, blocks: $1, into: $2, kernels: cursor.kernels) }
    }

    /// The step of each element's block or sub-block scale (`GGMLDequantizer.steps`).
    func decodeSteps(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        try walk(range, into: target, cursor: cursor) { GGMLDequantizer.steps(type, $0, blocks: $1, into: $2, kernels: cursor.kernels) }
    }

    /// Converts the blocks covering `range` with `convert` (bytes of whole blocks → floats).
    private func walk(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor,
                      _ convert: (UnsafeRawPointer, Int, UnsafeMutablePointer<Float>) -> Void) throws {
        guard !range.isEmpty else { return }
        let n = type.blockSize, stride = type.typeSize
        let firstBlock = range.lowerBound / n, endBlock = (range.upperBound + n - 1) / n
        // Whole blocks per read; a window's later blocks are staged by the same read.
        let limit = (Swift.max(range.upperBound, cursor.window.upperBound) + n - 1) / n * stride
        let piece = cursor.capacity / stride
        var b = firstBlock
        while b < endBlock {
            let e = Swift.min(endBlock, b + Swift.max(1, piece))
            let raw: UnsafeRawPointer
            if piece >= 1 {
                raw = try storage.bytes(at: b * stride, count: (e - b) * stride, limit: limit, cursor: cursor)
            } else {
                // A cursor smaller than one block (`TensorView.decode` of a few elements): read
                // the block into scratch, after the room its decoded floats take.
                raw = UnsafeRawPointer(try storage.copy(at: b * stride, count: stride, into: cursor.scratch(bytes: n * 4 + stride) + n * 4))
            }
            let lo = b * n, hi = e * n
            if lo >= range.lowerBound && hi <= range.upperBound {
                convert(raw, e - b, target + (lo - range.lowerBound))
            } else {
                // Only the first and last blocks of an unaligned range come here, one at a time.
                for k in b..<e {
                    let floats = cursor.scratch(bytes: n * 4 + (piece >= 1 ? 0 : stride)).assumingMemoryBound(to: Float.self)
                    convert(raw + (k - b) * stride, 1, floats)
                    let from = Swift.max(k * n, range.lowerBound), to = Swift.min((k + 1) * n, range.upperBound)
                    if from < to { (target + (from - range.lowerBound)).update(from: floats + (from - k * n), count: to - from) }
                }
            }
            b = e
        }
    }
}
