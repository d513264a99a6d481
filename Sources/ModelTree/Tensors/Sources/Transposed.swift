/// A matrix presented transposed: the view of shape [c, r] over `base` of shape [r, c] (an ONNX
/// MatMul weight stored [in, out] for a Linear layer's [out, in]; GPT-2's Conv1D in GGUF).
///
/// A range of the view's rows is the same columns of every base row: each base row's slice is
/// decoded into scratch and scattered, so a range costs one slice per base row, never the whole
/// base tensor.
struct Transposed: TensorSource {
    let base: TensorView
    /// The base's rows and columns.
    let rows: Int, columns: Int

    var isWeight: Bool { base.isWeight }
    var unitRoundoff: Double { base.unitRoundoff }
    var typeName: String { base.typeName }

    func decode(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        guard !range.isEmpty else { return }
        // View rows first..<last+1 are base columns first..<last+1.
        let first = range.lowerBound / rows, last = (range.upperBound - 1) / rows
        let width = last - first + 1
        let operand = cursor.operand(0)
        let slice = cursor.scratch(bytes: width * 4).assumingMemoryBound(to: Float.self)
        for j in 0..<rows {
            let start = j * columns + first
            operand.window = start..<start + width
            try base.source.decode(start..<start + width, into: slice, cursor: operand)
            for k in 0..<width {
                let i = (first + k) * rows + j
                if range.contains(i) { target[i - range.lowerBound] = slice[k] }
            }
        }
    }
}
