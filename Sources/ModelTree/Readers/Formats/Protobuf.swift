/// A reader of Protocol Buffers' wire format (protobuf.dev, "Encoding"), for ONNX models: one
/// message at a time, field by field, without a schema and without a protobuf dependency.
///
/// A message is a sequence of fields, each a varint key (field number << 3 | wire type) and a
/// value: a varint (wire type 0), 8 bytes (1), a varint length and that many bytes (2 —
/// strings, bytes, sub-messages, packed repeated scalars), or 4 bytes (5). Groups (3, 4) were
/// deprecated before ONNX existed and are refused, as are wire types 6 and 7.
///
/// Checked before use: a varint has at most 10 bytes and fits 64 bits; a field number is
/// 1…2^29 − 1; every length fits in what is left of the enclosing message (so a sub-message can
/// never reach past its parent); sub-messages are opened at most `maxDepth` (16) deep. A
/// length-delimited field is not read unless the caller asks for it — a tensor's raw bytes are
/// only located — and a string is read only up to `maxStringLength` (65,536 bytes).
struct ProtobufReader {
    /// A field's value: scalars are decoded, length-delimited ones are located.
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        /// The absolute byte range of the field's payload.
        case bytes(Range<Int>)
    }

    private(set) var reader: SourceReader
    /// How many messages enclose this one.
    let depth: Int

    static let maxDepth = 16
    static let maxStringLength = 65_536

    /// A reader of the message that fills `source` (a whole `.onnx` file is one ModelProto).
    init(_ source: ByteSource) {
        reader = SourceReader(source, windowSize: 64 << 10)
        depth = 0
    }

    private init(reader: SourceReader, depth: Int) {
        self.reader = reader
        self.depth = depth
    }

    /// The next field, or nil at the end of the message.
    /// - Throws: `.format` for a malformed key, value or length.
    mutating func next() throws -> (number: Int, value: Value)? {
        guard reader.remaining > 0 else { return nil }
        let keyOffset = reader.offset
        let key = try varint("a field key")
        let number = key >> 3
        guard number >= 1 && number < 1 << 29 else {
            throw ModelTreeError.format("protobuf: field number \(number) at byte \(keyOffset) is out of range")
        }
        switch key & 7 {
        case 0: return (Int(number), .varint(try varint("field \(number)")))
        case 1: return (Int(number), .fixed64(try reader.u64("field \(number)")))
        case 5: return (Int(number), .fixed32(try reader.u32("field \(number)")))
        case 2:
            let length = try varint("the length of field \(number)")
            guard length <= UInt64(reader.remaining) else {
                throw ModelTreeError.format("protobuf: field \(number) (\(length) bytes at byte \(reader.offset)) runs past the end of its message at byte \(reader.limit)")
            }
            let start = reader.offset
            try reader.skip(Int(length), "field \(number)")
            return (Int(number), .bytes(start..<start + Int(length)))
        case 3, 4:
            throw ModelTreeError.format("protobuf: field \(number) at byte \(keyOffset) uses the deprecated group encoding")
        default:
            throw ModelTreeError.format("protobuf: field \(number) at byte \(keyOffset) has invalid wire type \(key & 7)")
        }
    }

    /// A reader of the sub-message in `range` (a `.bytes` value of this message).
    /// - Throws: `.format` when it would be nested deeper than `maxDepth`.
    func message(_ range: Range<Int>) throws -> ProtobufReader {
        guard depth + 1 < Self.maxDepth else {
            throw ModelTreeError.format("protobuf: messages nested deeper than \(Self.maxDepth) at byte \(range.lowerBound)")
        }
        return ProtobufReader(reader: reader.child(range, limitName: "its message"), depth: depth + 1)
    }

    /// The UTF-8 text in `range` (a `.bytes` value of this message).
    /// - Throws: `.format` when it is longer than `maxStringLength` or not UTF-8.
    func string(_ range: Range<Int>, _ what: String) throws -> String {
        guard range.count <= Self.maxStringLength else {
            throw ModelTreeError.format("protobuf: \(what) is \(range.count) bytes long, over the limit of \(Self.maxStringLength)")
        }
        var r = reader.child(range, limitName: what)
        guard let text = try r.withBytes(range.count, what, { validUTF8($0) }) else {
            throw ModelTreeError.format("protobuf: \(what) is not UTF-8")
        }
        return text
    }

    /// The raw bytes in `range` (at most `limit` of them).
    func bytes(_ range: Range<Int>, limit: Int, _ what: String) throws -> [UInt8] {
        guard range.count <= limit else {
            throw ModelTreeError.format("protobuf: \(what) is \(range.count) bytes long, over the limit of \(limit)")
        }
        var r = reader.child(range, limitName: what)
        return try r.bytes(range.count, what)
    }

    /// The values of a repeated scalar field that may be packed (one `.bytes` run of varints or
    /// fixed values) or not (one field per value): `visit` receives each, as raw bits.
    func forEachScalar(_ value: Value, fixedWidth: Int?, _ what: String, _ visit: (UInt64) throws -> Void) throws {
        switch value {
        case .varint(let v): try visit(v)
        case .fixed32(let v): try visit(UInt64(v))
        case .fixed64(let v): try visit(v)
        case .bytes(let range):
            var packed = ProtobufReader(reader: reader.child(range, limitName: what), depth: depth)
            if let width = fixedWidth {
                guard range.count % width == 0 else {
                    throw ModelTreeError.format("protobuf: packed \(what) of \(range.count) bytes is not a whole number of \(width)-byte values")
                }
                while packed.reader.remaining > 0 {
                    try visit(width == 4 ? UInt64(try packed.reader.u32(what)) : try packed.reader.u64(what))
                }
            } else {
                while packed.reader.remaining > 0 { try visit(try packed.varint(what)) }
            }
        }
    }

    /// A base-128 varint of at most 10 bytes whose value fits 64 bits (the tenth byte may only
    /// hold the 64th bit, so a longer varint fails there).
    private mutating func varint(_ what: String) throws -> UInt64 {
        var value: UInt64 = 0, shift: UInt64 = 0
        while true {
            let b = try reader.u8(what)
            if shift == 63 && b > 1 {
                throw ModelTreeError.format("protobuf: \(what) is a varint beyond 64 bits (at byte \(reader.offset - 10))")
            }
            value |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return value }
            shift += 7
        }
    }
}
