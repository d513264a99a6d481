/// A matrix presented with its rows in another order: view row r is row `rows[r]` of `base`
/// (GGUF's Llama q and k projections, whose rows `convert_hf_to_gguf.py` interleaved for ggml's
/// rotary embedding: `TensorNames.rowMap` gives the map back to Hugging Face's order).
///
/// The permutation stays within groups of `groupRows` rows (a head), so the operand's window is
/// the group being read: a group's rows come from at most a few reads of its bytes.
struct PermutedRows: Rearranged {
    let base: TensorView
    let rows: [Int]
    let rowLength: Int
    let groupRows: Int

    /// Reads `range` of the view through `read` of the base's rows (values or steps).
    func gather(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor,
                _ read: (Range<Int>, UnsafeMutablePointer<Float>, TensorCursor) throws -> Void) throws {
        let operand = cursor.operand(0)
        var i = range.lowerBound
        while i < range.upperBound {
            let r = i / rowLength, column = i % rowLength
            let end = Swift.min(range.upperBound, (r + 1) * rowLength)
            let from = rows[r]
            let group = from / groupRows * groupRows * rowLength..<Swift.min(rows.count, (from / groupRows + 1) * groupRows) * rowLength
            if operand.window != group { operand.window = group }
            let start = from * rowLength + column
            try read(start..<start + (end - i), target + (i - range.lowerBound), operand)
            i = end
        }
    }
}
