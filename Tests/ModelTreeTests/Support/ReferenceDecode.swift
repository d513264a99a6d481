import Foundation
import Testing
@testable import ModelTree

/// One element's value from its little-endian bytes, computed from the definition of each element
/// type (Swift's Float16, the bfloat16 and float8 bit layouts) — independent of the library's
/// decoders, for checking readers against the values a reference library read.
func referenceValue(_ b: ArraySlice<UInt8>, _ dtype: DType) -> Double {
    let u = b.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
    switch dtype {
    case .f32: return Double(Float(bitPattern: UInt32(u)))
    case .f64: return Double(bitPattern: u)
    case .f16: return Double(Float16(bitPattern: UInt16(u)))
    case .bf16: return Double(Float(bitPattern: UInt32(u) << 16))
    case .i8: return Double(Int8(bitPattern: UInt8(u)))
    case .i16: return Double(Int16(bitPattern: UInt16(u)))
    case .i32: return Double(Int32(bitPattern: UInt32(u)))
    case .i64: return Double(Int64(bitPattern: u))
    case .u8, .u16, .u32, .u64, .bool: return Double(u)
    case .f8e4m3:
        // 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities, S.1111.111 is NaN.
        let e = Int(u >> 3 & 0xF), m = Double(u & 7)
        if e == 15 && m == 7 { return .nan }
        let magnitude = e == 0 ? m / 8 * 0x1p-6 : (1 + m / 8) * pow(2, Double(e - 7))
        return u & 0x80 != 0 ? -magnitude : magnitude
    case .f8e5m2:
        // The top byte of a binary16.
        return Double(Float16(bitPattern: UInt16(u) << 8))
    }
}

/// Every element of `bytes`, in order.
func referenceValues(_ bytes: [UInt8], _ dtype: DType) -> [Double] {
    (0..<bytes.count / dtype.size).map { referenceValue(bytes[$0 * dtype.size..<($0 + 1) * dtype.size], dtype) }
}

/// Expects every proper prefix of `image` (up to `end`) to fail in `parse` with a format error,
/// never a crash or another error.
func expectEveryPrefixRefused(_ image: [UInt8], upTo end: Int? = nil, sourceLocation: SourceLocation = #_sourceLocation,
                              _ parse: ([UInt8]) throws -> Void) {
    for n in 0..<(end ?? image.count) {
        do {
            try parse(Array(image[..<n]))
            Issue.record("a \(n)-byte prefix parsed", sourceLocation: sourceLocation)
        } catch ModelTreeError.format {
        } catch {
            Issue.record("prefix \(n): \(error)", sourceLocation: sourceLocation)
        }
    }
}
