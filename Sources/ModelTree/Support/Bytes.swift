/// Little-endian byte strings: the writer and the bounds-checked reader of the library's binary
/// formats (signatures). Every read checks its length first; a short or malformed input is a
/// `.format` error naming what was being read, never a trap.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func f64(_ v: Double) { u64(v.bitPattern) }
    /// A string: its UTF-8 length as u32, then its bytes.
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u32(UInt32(utf8.count))
        bytes += utf8
    }
    mutating func append(_ other: [UInt8]) { bytes += other }

    /// Doubles in bulk.
    mutating func f64s(_ values: [Double]) {
        bytes.reserveCapacity(bytes.count + values.count * 8)
        for v in values { f64(v) }
    }
    /// Floats in bulk.
    mutating func f32s(_ values: [Float]) {
        bytes.reserveCapacity(bytes.count + values.count * 4)
        for v in values { f32(v) }
    }
}

struct ByteReader {
    private let base: UnsafeRawBufferPointer
    private(set) var offset = 0
    /// What the bytes are, for messages ("signature section META").
    let what: String

    /// Reads `bytes`, which must stay valid while the reader is used.
    init(_ bytes: UnsafeRawBufferPointer, what: String) {
        base = bytes
        self.what = what
    }

    var remaining: Int { base.count - offset }

    func error(_ reason: String) -> ModelTreeError { .format("\(what): \(reason)") }

    private mutating func take(_ n: Int, _ field: String) throws -> UnsafeRawPointer {
        guard n >= 0, n <= remaining else {
            throw error("truncated: \(field) needs \(n) bytes at offset \(offset), \(remaining) left")
        }
        defer { offset += n }
        return base.baseAddress! + offset
    }

    mutating func u8(_ field: String) throws -> UInt8 { try take(1, field).load(as: UInt8.self) }
    mutating func u32(_ field: String) throws -> UInt32 { UInt32(littleEndian: try take(4, field).loadUnaligned(as: UInt32.self)) }
    mutating func u64(_ field: String) throws -> UInt64 { UInt64(littleEndian: try take(8, field).loadUnaligned(as: UInt64.self)) }
    mutating func i64(_ field: String) throws -> Int64 { Int64(bitPattern: try u64(field)) }
    mutating func f32(_ field: String) throws -> Float { Float(bitPattern: try u32(field)) }
    mutating func f64(_ field: String) throws -> Double { Double(bitPattern: try u64(field)) }

    /// A u64 that must fit an Int and not exceed `limit`.
    mutating func count(_ field: String, limit: Int) throws -> Int {
        let v = try u64(field)
        guard v <= UInt64(limit) else { throw error("\(field) is \(v), more than \(limit)") }
        return Int(v)
    }

    mutating func string(_ field: String) throws -> String {
        let n = Int(try u32("length of \(field)"))
        let p = try take(n, field)
        guard let s = String(validating: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self) else {
            throw error("\(field) is not valid UTF-8")
        }
        return s
    }

    /// `n` bytes as a buffer into the input.
    mutating func bytes(_ n: Int, _ field: String) throws -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: try take(n, field), count: n)
    }

    mutating func f64s(_ n: Int, _ field: String) throws -> [Double] {
        guard n <= remaining / 8 else { throw error("truncated: \(field) needs \(n) doubles, \(remaining) bytes left") }
        let p = try take(n * 8, field)
        #if _endian(little)
        // The format's byte order is the machine's: one copy (index queries read megabytes of these).
        return [Double](unsafeUninitializedCapacity: n) { out, count in
            if n > 0 { UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: p, byteCount: n * 8) }
            count = n
        }
        #else
        return (0..<n).map { Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) }
        #endif
    }

    mutating func f32s(_ n: Int, _ field: String) throws -> [Float] {
        guard n <= remaining / 4 else { throw error("truncated: \(field) needs \(n) floats, \(remaining) bytes left") }
        let p = try take(n * 4, field)
        #if _endian(little)
        return [Float](unsafeUninitializedCapacity: n) { out, count in
            if n > 0 { UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: p, byteCount: n * 4) }
            count = n
        }
        #else
        return (0..<n).map { Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        #endif
    }

    /// Throws unless every byte was read.
    func finish() throws {
        guard remaining == 0 else { throw error("\(remaining) bytes after the end") }
    }
}
