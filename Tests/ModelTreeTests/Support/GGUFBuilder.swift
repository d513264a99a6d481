/// Builds GGUF files byte by byte from the format description (ggml `docs/gguf.md`), independently
/// of the reader, so that tests can make well-formed files gguf-py would not write (empty arrays,
/// deep nesting) and hostile ones.
struct GGUFBuilder {
    var magic: [UInt8] = Array("GGUF".utf8)
    var version: UInt32 = 3
    /// Entries as raw bytes after the key: u32 type + value.
    var metadata: [(key: [UInt8], typeAndValue: [UInt8])] = []
    var tensors: [(name: [UInt8], ne: [UInt64], type: UInt32, offset: UInt64)] = []
    var alignment = 32
    var data: [UInt8] = []
    /// Overrides of the counts written in the header.
    var tensorCount: UInt64?
    var keyCount: UInt64?

    static func string(_ s: String) -> [UInt8] { LE.u64(UInt64(s.utf8.count)) + Array(s.utf8) }
    static func string(bytes: [UInt8]) -> [UInt8] { LE.u64(UInt64(bytes.count)) + bytes }

    /// Value encodings (type tag first).
    static func u32(_ v: UInt32) -> [UInt8] { LE.u32(4) + LE.u32(v) }
    static func str(_ s: String) -> [UInt8] { LE.u32(8) + string(s) }
    static func array(_ elementType: UInt32, count: UInt64, _ elements: [UInt8]) -> [UInt8] {
        LE.u32(9) + LE.u32(elementType) + LE.u64(count) + elements
    }

    mutating func add(_ key: String, _ typeAndValue: [UInt8]) { metadata.append((Array(key.utf8), typeAndValue)) }

    /// Adds a tensor whose `bytes` are appended to the data section at the next aligned offset.
    mutating func addTensor(_ name: String, ne: [UInt64], type: UInt32, bytes: [UInt8]) {
        while data.count % alignment != 0 { data.append(0) }
        tensors.append((Array(name.utf8), ne, type, UInt64(data.count)))
        data += bytes
    }

    /// The header (through the tensor infos), unpadded.
    var header: [UInt8] {
        var out = magic + LE.u32(version)
        out += LE.u64(tensorCount ?? UInt64(tensors.count)) + LE.u64(keyCount ?? UInt64(metadata.count))
        for (key, value) in metadata { out += Self.string(bytes: key) + value }
        for t in tensors {
            out += Self.string(bytes: t.name) + LE.u32(UInt32(t.ne.count))
            for d in t.ne { out += LE.u64(d) }
            out += LE.u32(t.type) + LE.u64(t.offset)
        }
        return out
    }

    /// The whole file: header, padding to the alignment, data.
    var bytes: [UInt8] {
        var out = header
        while out.count % alignment != 0 { out.append(0) }
        return out + data
    }
}
