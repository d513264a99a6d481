/// Integer weights with a scale and zero point, y = Float(x − zero_point) · scale, one of each for
/// the whole tensor or one per index of `axis`: an ONNX initializer that a `DequantizeLinear` or
/// `Cast → Mul` turns into weights (`ONNXDequantization`), decoded as onnxruntime computes it.
struct AffineIntegers: TensorSource {
    /// I8, U8, I16, U16 or I32.
    let dtype: DType
    let storage: TensorStorage
    let scales: [Float]
    let zeroPoints: [Int32]
    /// Elements per index of the axis (the product of the dimensions after it), and the axis's
    /// length; (1, 1) for a single scale.
    let inner: Int, channels: Int

    var isWeight: Bool { true }
    /// Half a step of the 8-bit grid relative to the largest value (2^-8; an int16 or int32
    /// weight is finer, and this bound stays safe).
    var unitRoundoff: Double { 0x1p-8 }
    var typeName: String { "\(dtype.rawValue)·scale" }

    func decode(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        try storage.pieces(range, elementSize: dtype.size, cursor: cursor) { raw, piece in
            for i in piece {
                let k = i - piece.lowerBound
                let x: Int32
                switch dtype {
                case .i8: x = Int32(raw.load(fromByteOffset: k, as: Int8.self))
                case .u8: x = Int32(raw.load(fromByteOffset: k, as: UInt8.self))
                case .i16: x = Int32(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * k, as: Int16.self)))
                case .u16: x = Int32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self)))
                default: x = Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * k, as: Int32.self))
                }
                let c = channels == 1 ? 0 : (i / inner) % channels
                target[i - range.lowerBound] = Float(x &- (zeroPoints.isEmpty ? 0 : zeroPoints[c])) * scales[c]
            }
        }
    }

    /// One step of the integers is the scale of the element's channel.
    func decodeSteps(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>, cursor: TensorCursor) throws {
        for i in range {
            target[i - range.lowerBound] = abs(scales[channels == 1 ? 0 : (i / inner) % channels])
        }
    }

    /// The integer types it decodes.
    static let types: Set<DType> = [.i8, .u8, .i16, .u16, .i32]
}
