/// Little-endian elements of one `DType`, back to back in row-major order: a safetensors tensor
/// in its file, or a tensor a caller lends from memory.
struct StoredElements: TensorSource {
    let dtype: DType
    let storage: TensorStorage

    var isWeight: Bool { dtype.isFloatingPoint }
    var unitRoundoff: Double { dtype.unitRoundoff }
    var typeName: String { dtype.rawValue }
    var files: [CheckpointFile] {
        if case .file(let file, _) = storage { return [file] }
        return []
    }

    /// Memory is decoded in place; a file is read in pieces of at most the cursor's capacity, each
    /// going on to the end of the window when it fits, so the blocks a pass asks for next are
    /// already staged.
    func decode(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        let size = dtype.size
        let limit = Swift.max(range.upperBound, cursor.window.upperBound) * size
        let piece = Swift.max(1, cursor.capacity / size)
        var start = range.lowerBound
        while start < range.upperBound {
            let end = Swift.min(range.upperBound, start + piece)
            let raw = try storage.bytes(at: start * size, count: (end - start) * size, limit: limit, cursor: cursor)
            cursor.kernels.decode(dtype, raw, count: end - start, into: target + (start - range.lowerBound))
            start = end
        }
    }
}
