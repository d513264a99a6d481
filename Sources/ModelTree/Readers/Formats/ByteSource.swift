/// Random access to the bytes of a file, or of an image in memory: what the readers of formats
/// with more than one region to parse (GGUF's header, a zip's directory and entries, an ONNX
/// model's messages) read from. A file is read with `pread` (`CheckpointFile`), so a reader never
/// holds more of it than the regions it parses; the fuzz targets parse an image in memory through
/// the same code.
protocol ByteSource {
    /// The number of bytes.
    var size: Int { get }
    /// `count` bytes at `offset`; the caller has checked that `offset + count <= size`.
    /// - Throws: `.io` when the file cannot be read or has changed since it was opened.
    func bytes(count: Int, at offset: Int) throws -> [UInt8]
}

extension CheckpointFile: ByteSource {}

/// An image in memory (the caller keeps it alive while the source is used).
struct MemoryBytes: ByteSource {
    let image: UnsafeRawBufferPointer
    var size: Int { image.count }

    func bytes(count: Int, at offset: Int) throws -> [UInt8] {
        Array(UnsafeRawBufferPointer(rebasing: image[offset..<offset + count]))
    }
}

/// A forward cursor over `source[start..<limit]` that reads through a window (1 MiB by default),
/// so that a header of many small fields costs a few `pread` calls, never the whole file.
///
/// Every read checks its length against `limit` first (with overflow-checked arithmetic), so a
/// hostile length field becomes an error naming what it ran past — `limitName` ("the file",
/// "the 100000000-byte header limit") — and no read or allocation ever follows it.
struct SourceReader {
    let source: ByteSource
    /// The first offset that may not be read.
    let limit: Int
    /// What `limit` is, for messages.
    let limitName: String
    /// The absolute offset of the next byte.
    private(set) var offset: Int

    private var window: [UInt8] = []
    private var windowStart = 0
    /// The most bytes read ahead of what is asked for.
    let windowSize: Int

    /// Reads from `start` up to `limit` (default: the end of the source); a `limit` beyond the
    /// source's end is the source's end, and `limitName` then says "the file".
    init(_ source: ByteSource, from start: Int = 0, limit: Int = .max, limitName: String = "the file",
         windowSize: Int = 1 << 20) {
        self.source = source
        self.offset = start
        self.windowSize = windowSize
        if limit < source.size {
            self.limit = limit
            self.limitName = limitName
        } else {
            self.limit = source.size
            self.limitName = "the file"
        }
    }

    /// A cursor over `range` (which must lie inside this one's limits) that starts with this
    /// cursor's window, so that reading a small nested region costs no further `pread`.
    func child(_ range: Range<Int>, limitName: String) -> SourceReader {
        var r = SourceReader(source, from: range.lowerBound, limit: range.upperBound, limitName: limitName, windowSize: windowSize)
        r.window = window
        r.windowStart = windowStart
        return r
    }

    /// Moves to `offset` (at most the limit), keeping the window: reads there cost nothing if
    /// they fall inside it.
    mutating func seek(_ offset: Int) {
        precondition(offset >= 0 && offset <= limit, "seek outside the reader's range")
        self.offset = offset
    }

    /// Bytes left before the limit.
    var remaining: Int { limit - offset }

    /// Checks that `count` more bytes can be read; `what` names them in the error.
    func require(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard count >= 0, count <= remaining else {
            throw ModelTreeError.format("\(what()) (\(count < 0 ? "a negative count of" : "\(count)") bytes at byte \(offset)) runs past the end of \(limitName) at byte \(limit)")
        }
    }

    /// Makes `offset..<offset + count` available in the window (after `require`).
    private mutating func load(_ count: Int) throws {
        if offset >= windowStart && offset + count <= windowStart + window.count { return }
        let length = Swift.min(Swift.max(count, windowSize), limit - offset)
        window = try source.bytes(count: length, at: offset)
        windowStart = offset
    }

    /// Calls `body` with the next `count` bytes and moves past them.
    mutating func withBytes<R>(_ count: Int, _ what: @autoclosure () -> String,
                               _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try require(count, what())
        try load(count)
        let start = offset - windowStart
        offset += count
        return try window.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<start + count])) }
    }

    /// The next `count` bytes as an array.
    mutating func bytes(_ count: Int, _ what: @autoclosure () -> String) throws -> [UInt8] {
        try withBytes(count, what()) { Array($0) }
    }

    /// Moves past `count` bytes without reading them.
    mutating func skip(_ count: Int, _ what: @autoclosure () -> String) throws {
        try require(count, what())
        offset += count
    }

    /// A little-endian integer.
    mutating func integer<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try withBytes(MemoryLayout<T>.size, what()) { T(littleEndian: $0.loadUnaligned(as: T.self)) }
    }

    mutating func u8(_ what: @autoclosure () -> String) throws -> UInt8 { try integer(UInt8.self, what()) }
    mutating func u16(_ what: @autoclosure () -> String) throws -> UInt16 { try integer(UInt16.self, what()) }
    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 { try integer(UInt32.self, what()) }
    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 { try integer(UInt64.self, what()) }
}

/// `bytes` as a String when they are well-formed UTF-8; nil otherwise (never a lossy repair:
/// a name that is not text is refused, not replaced by U+FFFD).
func validUTF8(_ bytes: UnsafeRawBufferPointer) -> String? {
    String(validating: bytes, as: UTF8.self)
}

func validUTF8(_ bytes: [UInt8]) -> String? { bytes.withUnsafeBytes { validUTF8($0) } }

/// `a * b`, nil on overflow or when either is negative.
func checkedProduct(_ a: Int, _ b: Int) -> Int? {
    guard a >= 0, b >= 0 else { return nil }
    let (p, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? nil : p
}

/// `a + b`, nil on overflow.
func checkedSum(_ a: Int, _ b: Int) -> Int? {
    let (s, overflow) = a.addingReportingOverflow(b)
    return overflow ? nil : s
}

/// The product of `values` (all ≥ 0); 0 when one is 0 whatever the others, nil on overflow.
func checkedProduct(_ values: [Int]) -> Int? {
    if values.contains(0) { return 0 }
    var p = 1
    for v in values {
        guard let next = checkedProduct(p, v) else { return nil }
        p = next
    }
    return p
}

/// `body`'s result, with a format error's reason prefixed by `path` ("<path>: <reason>"), as
/// every reader reports a malformed file.
func prefixingFormatErrors<T>(_ path: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch ModelTreeError.format(let reason) {
        throw ModelTreeError.format("\(path): \(reason)")
    }
}
