/// The element types of the safetensors format (names as in its header).
///
/// Every type is recognised so that headers can be validated byte for byte; only the floating
/// point ones (`isFloatingPoint`) take part in a recovery.
public enum DType: String, CaseIterable, Sendable {
    case bool = "BOOL"
    case u8 = "U8", i8 = "I8"
    case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32"
    case i64 = "I64", u64 = "U64", f64 = "F64"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .bool, .u8, .i8, .f8e4m3, .f8e5m2: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .i64, .u64, .f64: return 8
        }
    }

    /// The types a recovery reads: F64, F32, F16 and BF16.
    public var isFloatingPoint: Bool {
        switch self {
        case .f16, .bf16, .f32, .f64: return true
        default: return false
        }
    }

    /// Unit roundoff of the stored values (half the distance from 1 to the next value), used to
    /// tell rounding noise from a real difference.
    public var unitRoundoff: Double {
        switch self {
        case .f64: return 0x1p-53
        case .f32: return 0x1p-24
        case .f16: return 0x1p-11
        case .bf16: return 0x1p-8
        default: return 1
        }
    }

    /// The bytes a tensor of `shape` takes: 0 when any dimension is 0, whatever the others (the
    /// order of the dimensions never matters); nil when the product overflows.
    public func byteCount(shape: [Int]) -> Int? {
        if shape.contains(0) { return 0 }
        var bytes = size
        for d in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            bytes = product
        }
        return bytes
    }
}

extension DType {
    /// Decodes `count` little-endian elements starting at `source` (any alignment) into `target`.
    ///
    /// F16 and BF16 are widened exactly by bit manipulation (the library's `Float(Float16)` is a
    /// slow call on x86 without a target CPU); F64 is rounded to the nearest `Float`.
    /// - Precondition: `isFloatingPoint`.
    @inline(__always)
    func decode(_ source: UnsafeRawPointer, count: Int, into target: UnsafeMutablePointer<Float>) {
        switch self {
        case .f32:
            for i in 0..<count {
                target[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        case .bf16:
            for i in 0..<count {
                let h = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                target[i] = Float(bitPattern: UInt32(h) << 16)
            }
        case .f16:
            for i in 0..<count {
                let h = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                target[i] = halfToFloat(h)
            }
        case .f64:
            for i in 0..<count {
                target[i] = Float(Double(bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        default:
            preconditionFailure("decode called on non-floating dtype \(rawValue)")
        }
    }
}

/// IEEE 754 binary16 to binary32, exact for all 65,536 patterns (normals, subnormals, ±0, ±inf, NaN).
///
/// Branch-light so the loop above vectorises: the exponent is rebiased by adding (127 - 15) << 23
/// and subnormals are renormalised by a float subtraction of the "magic" 2^-14.
@inline(__always)
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let rest = UInt32(h & 0x7FFF) << 13           // exponent and mantissa in float position
    let exp = h & 0x7C00
    let bits: UInt32
    if exp == 0x7C00 {                              // inf or NaN
        bits = rest | 0x7F80_0000
    } else if exp == 0 {                            // zero or subnormal: value = mantissa * 2^-24
        let magic = Float(bitPattern: 113 << 23)    // 2^-14
        let f = Float(bitPattern: rest | (113 << 23)) - magic
        bits = f.bitPattern
    } else {
        bits = rest &+ ((127 - 15) << 23)
    }
    return Float(bitPattern: sign | bits)
}
