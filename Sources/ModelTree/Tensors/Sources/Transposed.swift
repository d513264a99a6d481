/// A matrix presented transposed: the view of shape [c, r] over `base` of shape [r, c] (an ONNX
/// MatMul weight stored [in, out] for a Linear layer's [out, in]; GPT-2's Conv1D in GGUF).
///
/// A range of the view's rows is the same columns of every base row: each base row's slice is
/// decoded into scratch and scattered, so a range costs one slice per base row, never the whole
/// base tensor.
struct Transposed: Rearranged {
    let base: TensorView
    /// The base's rows and columns.
    let rows: Int, columns: Int

    /// Reads `range` of the view through `read` of slices of the base's rows (values or steps).
    func gather(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor,
                _ read: (Range<Int>, UnsafeMutablePointer<Float>, TensorCursor) throws -> Void) throws {
        guard !range.isEmpty else { return }
        // View rows first..<last+1 are base columns first..<last+1.
        let first = range.lowerBound / rows, last = (range.upperBound - 1) / rows
        let width = last - first + 1
        let operand = cursor.operand(0)
        let slice = cursor.scratch(bytes: width * 4).assumingMemoryBound(to: Float.self)
        for j in 0..<rows {
            let start = j * columns + first
            operand.window = start..<start + width
            try read(start..<start + width, slice, operand)
            for k in 0..<width {
                let i = (first + k) * rows + j
                if range.contains(i) { target[i - range.lowerBound] = slice[k] }
            }
        }
    }
}
