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
    /// The smallest normal binary exponent of a float type (F16's is −14; F32's and BF16's −126).
    var minimumExponent: Int {
        switch self {
        case .f16: return -14
        case .f64: return -1022
        default: return -126
        }
    }

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
