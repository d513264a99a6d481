/// Elements of one `DType` spread over a storage by strides: a PyTorch tensor that is not the
/// row-major run of its storage (a transposed view, a slice), read element by element through
/// the cursor's staging buffer (nearby elements come from one read). Contiguous tensors are
/// `StoredElements` instead.
struct StridedElements: TensorSource {
    let dtype: DType
    /// The storage's first byte.
    let storage: TensorStorage
    /// Bytes in the storage: no read goes past it.
    let storageBytes: Int
    let shape: [Int]
    let strides: [Int]
    let storageOffset: Int

    var isWeight: Bool { dtype.isFloatingPoint }
    var unitRoundoff: Double { dtype.unitRoundoff }
    var typeName: String { dtype.rawValue }
    var minimumExponent: Int { dtype.minimumExponent }

    func decode(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        let size = dtype.size
        for i in range {
            var rest = i, index = storageOffset
            for d in shape.indices.reversed() {
                index += rest % shape[d] * strides[d]
                rest /= shape[d]
            }
            let raw = try storage.bytes(at: index * size, count: size, limit: storageBytes, cursor: cursor)
            cursor.kernels.decode(dtype, raw, count: 1, into: target + (i - range.lowerBound))
        }
    }
}
