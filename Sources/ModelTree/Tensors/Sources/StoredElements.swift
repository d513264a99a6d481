/// Little-endian elements of one `DType`, back to back in row-major order: a safetensors tensor
/// in its file, or a tensor a caller lends from memory.
struct StoredElements: TensorSource {
    let dtype: DType
    let storage: TensorStorage

    var isWeight: Bool { dtype.isFloatingPoint }
    var unitRoundoff: Double { dtype.unitRoundoff }
    var typeName: String { dtype.rawValue }
    var minimumExponent: Int { dtype.minimumExponent }
    var files: [CheckpointFile] {
        if case .file(let file, _) = storage { return [file] }
        return []
    }

    /// Memory is decoded in place; a file is read in pieces of at most the cursor's capacity
    /// (`TensorStorage.pieces`).
    func decode(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        try storage.pieces(range, elementSize: dtype.size, cursor: cursor) { raw, piece in
            cursor.kernels.decode(dtype, raw, count: piece.count, into: target + (piece.lowerBound - range.lowerBound))
        }
    }
}
