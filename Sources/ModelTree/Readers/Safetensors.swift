/// One `.safetensors` file whose header has been fully validated; its tensors are read from the
/// file on demand (`CheckpointFile`).
///
/// The format (huggingface/safetensors, README "Format"): 8 bytes `N`, a little-endian u64; `N`
/// bytes of UTF-8 JSON mapping each tensor name to `{"dtype", "shape", "data_offsets": [begin,
/// end]}` (offsets relative to the first byte after the header), plus an optional
/// `"__metadata__"` string map; then the data section. The checks follow the reference Rust
/// implementation (`SafeTensors::read_metadata` / `Metadata::validate`): header length capped at
/// 100,000,000 bytes, each tensor's byte length equal to its element count times the dtype size,
/// and the tensors' byte ranges tiling the data section exactly — no gap, no overlap, no
/// trailing bytes. A checkpoint is untrusted input, so no tensor is read before all of that holds.
public final class SafetensorsFile: Sendable {
    public let path: String
    /// Tensors sorted by name; they read from the file, and keep it (not a descriptor) alive.
    public let tensors: [TensorView]
    /// The optional `__metadata__` string map.
    public let metadata: [String: String]

    /// Opens `path` and validates its header: reads 8 + N bytes, whatever the file's size.
    /// - Throws: `ModelTreeError.io` when the file cannot be read; `ModelTreeError.format`
    ///   ("<path>: <reason>") for anything that is not a well-formed safetensors file.
    public init(path: String) throws {
        let file = try CheckpointFile(path: path)
        do {
            var prefix: UInt64 = 0
            if file.size >= 8 { try file.read(into: &prefix, count: 8, at: 0) }
            let headerLength = try Self.headerLength(UInt64(littleEndian: prefix), fileSize: file.size)
            let header = try file.bytes(count: headerLength, at: 8)
            let dataStart = 8 + headerLength
            let layout: [Entry]
            (layout, metadata) = try header.withUnsafeBytes { try Self.layout(header: $0, dataSize: file.size - dataStart) }
            tensors = layout.map {
                TensorView(name: $0.name, shape: $0.shape,
                           source: StoredElements(dtype: $0.dtype, storage: .file(file, offset: dataStart + $0.begin)))
            }
        } catch let error as ModelTreeError {
            guard case .format(let reason) = error else { throw error }
            throw ModelTreeError.format("\(path): \(reason)")
        }
        self.path = path
    }

    /// The reference implementation's cap on the header length (`MAX_HEADER_SIZE`), so that a
    /// hostile length cannot make us parse an arbitrarily large "header".
    static let maxHeaderLength = 100_000_000

    /// The most dimensions a shape may have (numpy's `NPY_MAXDIMS`). The reference has no such
    /// cap; without one, a 100 MB header of `[0,0,0,…]` parses into ~50 M JSON values (1.7 GB
    /// transient) and keeps a 400 MB shape alive per model. Arrays in a valid header are shapes
    /// and offset pairs, so the parser stops any array at this length.
    static let maxRank = 64

    /// One tensor of a header; `begin..<end` is its byte range in the data section.
    struct Entry {
        var name: String, dtype: DType, shape: [Int], begin: Int, end: Int
    }

    /// Validates a whole safetensors image in memory and returns views into `bytes`; errors
    /// carry the reason only. The same checks as a file's (the fuzz target calls this).
    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> (tensors: [TensorView], metadata: [String: String]) {
        let declared = bytes.count >= 8 ? UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)) : 0
        let headerLength = try headerLength(declared, fileSize: bytes.count)
        let header = UnsafeRawBufferPointer(rebasing: bytes[8..<8 + headerLength])
        let data = UnsafeRawBufferPointer(rebasing: bytes[(8 + headerLength)...])
        let (layout, metadata) = try layout(header: header, dataSize: data.count)
        let tensors = try layout.map {
            try TensorView(name: $0.name, dtype: $0.dtype, shape: $0.shape,
                           bytes: UnsafeRawBufferPointer(rebasing: data[$0.begin..<$0.end]))
        }
        return (tensors, metadata)
    }

    /// The header length a file declares in its first 8 bytes (`declared`), checked against the
    /// cap and the file's size.
    static func headerLength(_ declared: UInt64, fileSize: Int) throws -> Int {
        guard fileSize >= 8 else {
            throw ModelTreeError.format("file is \(fileSize) bytes, shorter than the 8-byte header length")
        }
        let other = likelyFormat(declared)
        guard declared <= UInt64(maxHeaderLength) else {
            throw ModelTreeError.format("not a safetensors file\(other): header length \(declared) exceeds the limit of \(maxHeaderLength) bytes")
        }
        guard Int(declared) <= fileSize - 8 else {
            // A truncated safetensors file fails here too: say "not one" only when it is another format.
            let what = other.isEmpty ? "" : "not a safetensors file\(other): "
            throw ModelTreeError.format("\(what)header length \(declared) runs past the end of the file (\(fileSize) bytes)")
        }
        return Int(declared)
    }

    /// What a file whose first 8 bytes (`prefix`, little-endian) are no safetensors header length
    /// probably is, as " (…)" for a message; "" when nothing is recognised.
    static func likelyFormat(_ prefix: UInt64) -> String {
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: prefix >> (8 * UInt64($0))) }
        switch FileMagic(bytes) {
        case .zip?: return " (it is a ZIP archive, as a PyTorch checkpoint written by torch.save is)"
        case .gguf?: return " (it is a GGUF file)"
        case .pickle?: return " (it is a Python pickle, as an older PyTorch checkpoint is)"
        case nil: break
        }
        if bytes.allSatisfy({ (0x20...0x7E).contains($0) || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            return " (it starts with text: \"\(String(decoding: bytes, as: UTF8.self))\")"
        }
        return ""
    }

    /// Validates the JSON header against a data section of `dataSize` bytes: the tensors, sorted
    /// by name, and the metadata.
    static func layout(header: UnsafeRawBufferPointer, dataSize: Int) throws -> (tensors: [Entry], metadata: [String: String]) {
        // The reference rejects a header that does not start with '{' before parsing it.
        guard header.first == UInt8(ascii: "{") else {
            throw ModelTreeError.format("not a safetensors file: its header does not start with '{'")
        }
        let root: JSONValue
        do {
            // Depth 3 is all a valid header needs (root, entry, shape); a little more keeps the
            // messages about wrong structure specific.
            root = try JSONParser.parse(header, maxDepth: 8, maxArrayLength: maxRank)
        } catch ModelTreeError.format(let reason) {
            throw ModelTreeError.format("invalid header \(reason) of the header")
        }
        guard case .object(let entries) = root else { throw ModelTreeError.format("header is not a JSON object") }

        var metadata: [String: String] = [:]
        var layout: [Entry] = []
        layout.reserveCapacity(entries.count)
        for (name, value) in entries {
            if name == "__metadata__" {
                metadata = try parseMetadata(value)
            } else {
                let (dtype, shape, begin, end) = try parseEntry(name, value)
                layout.append(Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
            }
        }

        // The byte ranges, in file order, must tile the data section (reference: `validate`).
        // Sorting by (begin, end) puts empty tensors before a non-empty one at the same offset.
        layout.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        var previous: String?
        for t in layout {
            if t.begin < covered {
                throw ModelTreeError.format("tensor '\(t.name)' (bytes \(t.begin)..<\(t.end)) overlaps tensor '\(previous!)', which ends at \(covered)")
            }
            if t.begin > covered {
                let after = previous.map { "after tensor '\($0)'" } ?? "at the start of the data section"
                throw ModelTreeError.format("gap of \(t.begin - covered) bytes \(after) (tensor '\(t.name)' begins at \(t.begin), expected \(covered))")
            }
            covered = t.end
            previous = t.name
        }
        if covered > dataSize {
            throw ModelTreeError.format("tensor '\(previous!)' ends at \(covered), past the end of the \(dataSize)-byte data section")
        }
        if covered < dataSize {
            throw ModelTreeError.format("\(dataSize - covered) trailing bytes after the last tensor (data section is \(dataSize) bytes, tensors cover \(covered))")
        }
        layout.sort { $0.name < $1.name }
        return (layout, metadata)
    }

    /// `__metadata__`: an object of string → string (the reference's `HashMap<String, String>`).
    private static func parseMetadata(_ value: JSONValue) throws -> [String: String] {
        guard case .object(let members) = value else { throw ModelTreeError.format("'__metadata__' is not an object") }
        var metadata: [String: String] = [:]
        for (key, value) in members {
            guard case .string(let text) = value else {
                throw ModelTreeError.format("'__metadata__' value for '\(key)' is not a string")
            }
            metadata[key] = text
        }
        return metadata
    }

    /// One tensor entry: exactly the keys dtype, shape and data_offsets, mutually consistent.
    private static func parseEntry(_ name: String, _ value: JSONValue) throws -> (DType, [Int], Int, Int) {
        func bad(_ reason: String) -> ModelTreeError { .format("tensor '\(name)': \(reason)") }
        guard case .object(let members) = value else { throw bad("entry is not an object") }
        var dtypeValue: JSONValue?, shapeValue: JSONValue?, offsetsValue: JSONValue?
        for (key, value) in members {
            switch key {
            case "dtype": dtypeValue = value
            case "shape": shapeValue = value
            case "data_offsets": offsetsValue = value
            default: throw bad("unknown key '\(key)'")
            }
        }
        guard let dtypeValue else { throw bad("missing 'dtype'") }
        guard let shapeValue else { throw bad("missing 'shape'") }
        guard let offsetsValue else { throw bad("missing 'data_offsets'") }

        guard case .string(let dtypeName) = dtypeValue else { throw bad("'dtype' is not a string") }
        guard let dtype = DType(rawValue: dtypeName) else { throw bad("unknown dtype '\(dtypeName)'") }

        guard case .array(let dims) = shapeValue, let shape = nonNegativeIntegers(dims) else {
            throw bad("'shape' is not an array of non-negative integers")
        }
        guard let byteCount = dtype.byteCount(shape: shape) else {
            throw bad("shape \(shape) of \(dtypeName) overflows the byte count")
        }

        guard case .array(let pair) = offsetsValue, pair.count == 2, let offsets = nonNegativeIntegers(pair) else {
            throw bad("'data_offsets' is not two non-negative integers")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw bad("data_offsets [\(begin), \(end)] begin after they end") }
        guard end - begin == byteCount else {
            throw bad("data_offsets [\(begin), \(end)] span \(end - begin) bytes, but shape \(shape) of \(dtypeName) needs \(byteCount)")
        }
        return (dtype, shape, begin, end)
    }

    /// The values as `Int`s when every one is an integer in 0...2^53 (the range in which a JSON
    /// number parsed as a Double is exact); nil otherwise.
    private static func nonNegativeIntegers(_ values: [JSONValue]) -> [Int]? {
        var result: [Int] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard case .number(let x) = value, x >= 0, x <= 0x1p53, x.rounded(.towardZero) == x else { return nil }
            result.append(Int(x))
        }
        return result
    }
}
