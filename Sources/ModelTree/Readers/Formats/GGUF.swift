/// A GGUF file (llama.cpp's format for quantized models) whose header has been fully validated:
/// its metadata, and where each tensor's bytes are. No tensor byte is read here.
///
/// The format (ggml's `docs/gguf.md`), all little-endian: magic `GGUF`; u32 version (2 or 3 —
/// version 1 had 32-bit counts and is long gone; a version whose low 16 bits are zero is a
/// big-endian file, which is refused); u64 tensor count; u64 metadata count; the metadata, each a
/// string key, a u32 value type and a value (strings are a u64 length and UTF-8 bytes; arrays a
/// u32 element type, a u64 count and the elements, possibly arrays themselves); the tensor infos,
/// each a string name, u32 dimension count, that many u64 dimensions (ne[0] first, the fastest
/// varying), u32 ggml type and u64 offset into the data section; padding to `general.alignment`
/// (a u32, default 32); the data section.
///
/// Every count, length and offset is checked before it is used, so a hostile header cannot make
/// the reader allocate, loop or seek beyond what the file holds:
/// - the header (everything before the data section) is read through a 1 MiB window and may be
///   at most `maxHeaderLength` (100,000,000 bytes, the safetensors cap; real headers, tokenizer
///   included, are a few MB); every string and array is checked against what is left of it
///   before it is read or skipped, so a count of 2^63 fails at once;
/// - at most 1,000,000 metadata entries and 1,000,000 tensors (real files hold tens of keys and
///   at most ~10⁵ tensors; filling the header cap with either cost 0.4 to 0.7 GB; at the limit,
///   ≈ 140 and 190 MB — FUZZING.md, "Limits of the format readers");
/// - keys and tensor names are UTF-8, unique, at most 65,535 bytes (the spec's bound for keys);
/// - at most 4 dimensions (ggml's `GGML_MAX_DIMS`), each below 2^63, element and byte counts
///   without overflow, ne[0] a whole number of blocks of the type;
/// - a tensor type must be one the format defines (`GGMLType`); one libmodeltree cannot
///   dequantize is kept, described, and refused only when decoded (`requireDequantizable`);
/// - `general.alignment` is a u32 power of two; every tensor offset is a multiple of it; the data
///   section starts inside the file and the tensors lie inside it without overlapping;
/// - nested arrays at most 8 deep (each level costs 12 bytes, so the header cap alone would
///   allow millions of levels).
///
/// Metadata values are kept as values, except large arrays (the tokenizer's vocabulary and
/// merges): an array that would cost more than 256 KiB of memory, or take the file's kept
/// arrays past 4 MiB — each value counted as 48 bytes plus its encoding — is kept as its type,
/// count and byte range, to be read on demand (`GGUFArray`). Memory per file is then bounded by
/// the number of tensors and keys (≈ 180 and 100 bytes each), not by what the arrays hold.
public struct GGUFFile: Sendable {
    /// 2 or 3.
    public let version: UInt32
    /// The key/value metadata in file order (keys unique).
    public let metadata: [(key: String, value: GGUFValue)]
    /// The tensors in file order (names unique).
    public let tensors: [GGUFTensorInfo]
    /// `general.alignment`, or 32.
    public let alignment: Int
    /// The absolute offset of the data section.
    public let dataOffset: Int

    /// The largest header read.
    static let maxHeaderLength = 100_000_000
    /// The most metadata entries, and the most tensors, one file may declare.
    static let maxEntries = 1_000_000
    /// The most dimensions a tensor may have (ggml's `GGML_MAX_DIMS`).
    static let maxDimensions = 4
    /// The longest key or tensor name.
    static let maxNameLength = 65_535
    /// The deepest nesting of arrays.
    static let maxArrayDepth = 8
    /// An array that would cost more than this (its encoding plus `keptValueCost` a value) is not
    /// materialised.
    static let maxInlineArrayBytes = 256 << 10
    /// The most a file's materialised arrays may cost.
    static let maxInlineTotalBytes = 4 << 20
    /// What one materialised value costs beyond its encoding: a `GGUFValue` in an array.
    static let keptValueCost = 48

    /// The value of `key`, if present.
    public func value(_ key: String) -> GGUFValue? {
        metadata.first { $0.key == key }?.value
    }

    /// Parses and validates the header of the GGUF file in `source` (a file of `source.size`
    /// bytes, or an image in memory). Errors carry the reason only; `open(path:)` adds the path.
    /// - Throws: `.format` for anything that is not a well-formed GGUF file; `.io` when a file
    ///   cannot be read.
    static func parse(_ source: ByteSource) throws -> GGUFFile {
        var parser = GGUFParser(SourceReader(source, limit: maxHeaderLength, limitName: "the \(maxHeaderLength)-byte header limit"))
        return try parser.parseFile()
    }

    /// Opens `path` and validates its header (reads only the header).
    /// - Throws: `.io` when the file cannot be read; `.format("<path>: <reason>")` otherwise.
    static func open(path: String) throws -> (file: CheckpointFile, gguf: GGUFFile) {
        let file = try CheckpointFile(path: path)
        return (file, try prefixingFormatErrors(path) { try parse(file) })
    }
}

/// One tensor of a GGUF file, validated: its bytes are `offset..<offset + byteCount` of the file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// The dimensions as stored: ne[0] (the number of elements of a row, the fastest varying)
    /// first.
    public let dimensions: [Int]
    public let type: GGMLType
    /// Absolute offset of the first byte in the file.
    public let offset: Int
    public let byteCount: Int

    /// The logical shape in numpy/PyTorch order (slowest first): `dimensions` reversed. A 2-D
    /// weight with ne = [in, out] is the [out, in] matrix of the model it came from.
    public var shape: [Int] { dimensions.reversed() }

    /// The number of elements (0 if a dimension is 0).
    public var elementCount: Int { checkedProduct(dimensions) ?? 0 }

    /// Blocks in the whole tensor.
    public var blockCount: Int { elementCount / type.blockSize }

    /// The byte range of blocks `blocks` within the file (`type.typeSize` bytes each).
    public func byteRange(blocks: Range<Int>) -> Range<Int> {
        offset + blocks.lowerBound * type.typeSize..<offset + blocks.upperBound * type.typeSize
    }

    /// Throws unless libmodeltree can dequantize the tensor's type.
    /// - Throws: `.format("tensor 'blk.0.ffn_up.weight' is IQ2_XXS, which libmodeltree cannot
    ///   dequantize")`.
    public func requireDequantizable() throws {
        guard type.canDequantize else {
            let why = type.isInteger ? "an integer type, not weights" : "which libmodeltree cannot dequantize"
            throw ModelTreeError.format("tensor '\(name)' is \(type.name), \(why)")
        }
    }
}

/// The value types of GGUF metadata (`gguf_type`).
public enum GGUFValueType: UInt32, Sendable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// The size of a value of a fixed-size type; nil for strings and arrays.
    var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    /// The fewest bytes a value of this type takes (a string's length, an array's type and count).
    var minimumSize: Int { fixedSize ?? (self == .string ? 8 : 12) }
}

/// A metadata value (an array holds its elements in an `Array`, so no case needs boxing).
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool)
    case string(String)
    case array(GGUFArray)

    /// The value as an integer, when it is one of the integer types and fits an `Int`.
    public var integer: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

/// A metadata array: its elements when the file's budget allowed keeping them, else where they are.
public struct GGUFArray: Sendable, Equatable {
    public let elementType: GGUFValueType
    public let count: Int
    /// The elements' bytes in the file (after the type and count).
    public let range: Range<Int>
    /// The elements, or nil when they were left in the file (see `GGUFFile`).
    public let elements: [GGUFValue]?

    /// The elements, read from `source` if they were not kept. Strings are checked to be UTF-8.
    func elements(from source: ByteSource) throws -> [GGUFValue] {
        if let elements { return elements }
        var parser = GGUFParser(SourceReader(source, from: range.lowerBound, limit: range.upperBound, limitName: "the array"))
        parser.inlineBudget = .max
        parser.maxKeptArray = .max
        parser.strict = true
        guard let elements = try parser.parseElements(elementType, count: count, key: "array", depth: 1).elements else {
            throw ModelTreeError.internal("a strictly parsed GGUF array has no elements")
        }
        return elements
    }
}

/// The header parser's state: a cursor over the header and the budget of array bytes to keep.
struct GGUFParser {
    var reader: SourceReader
    /// What the arrays still to be materialised may cost.
    var inlineBudget = GGUFFile.maxInlineTotalBytes
    /// Values made so far (each costs `keptValueCost` when kept).
    private var valuesMade = 0
    /// The largest array encoding kept.
    var maxKeptArray = GGUFFile.maxInlineArrayBytes
    /// Whether a string of an array that is not UTF-8 is an error (when an array is read on
    /// demand) rather than a reason to leave the array in the file (while parsing the header).
    var strict = false

    init(_ reader: SourceReader) { self.reader = reader }

    mutating func parseFile() throws -> GGUFFile {
        let magic = try reader.bytes(4, "the 4-byte magic")
        guard magic == Array("GGUF".utf8) else {
            throw ModelTreeError.format("not a GGUF file (its first bytes are \(magic.map { hex($0) }.joined(separator: " ")), not 'GGUF')")
        }
        let version = try reader.u32("the version")
        guard version == 2 || version == 3 else {
            if version == 1 { throw ModelTreeError.format("GGUF version 1 is not supported (versions 2 and 3 are)") }
            if version & 0xFFFF == 0 { throw ModelTreeError.format("a big-endian GGUF file (version field \(version)) is not supported") }
            throw ModelTreeError.format("unsupported GGUF version \(version) (versions 2 and 3 are supported)")
        }
        let tensorCount = try reader.u64("the tensor count")
        let keyCount = try reader.u64("the metadata count")
        // Each entry takes at least a u64 length plus a u32 type and one byte (a key), or 24 bytes
        // (a tensor info), so larger counts cannot fit what is left: say so before looping.
        try requireRoom(keyCount, each: 13, "metadata entries")

        var metadata: [(key: String, value: GGUFValue)] = []
        var keys = Set<String>()
        for i in 0..<Int(keyCount) {
            let key = try name("key of metadata entry \(i)")
            guard keys.insert(key).inserted else { throw ModelTreeError.format("duplicate metadata key '\(key)'") }
            let rawType = try reader.u32("the type of '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw ModelTreeError.format("metadata '\(key)' has unknown value type \(rawType)")
            }
            metadata.append((key, try parseValue(type, key: key, depth: 0)))
        }

        var alignment = 32
        if let (_, value) = metadata.first(where: { $0.key == "general.alignment" }) {
            guard case .uint32(let a) = value else {
                throw ModelTreeError.format("'general.alignment' is \(describe(value)), not a uint32")
            }
            guard a != 0, a & (a - 1) == 0 else {
                throw ModelTreeError.format("'general.alignment' is \(a), not a power of two")
            }
            alignment = Int(a)
        }

        try requireRoom(tensorCount, each: 24, "tensor infos")
        var infos: [(name: String, dimensions: [Int], type: GGMLType, offset: Int, byteCount: Int)] = []
        var names = Set<String>()
        for i in 0..<Int(tensorCount) {
            let tensorName = try name("name of tensor info \(i)")
            guard names.insert(tensorName).inserted else { throw ModelTreeError.format("duplicate tensor name '\(tensorName)'") }
            func bad(_ reason: String) -> ModelTreeError { .format("tensor '\(tensorName)': \(reason)") }
            let rank = try reader.u32("the dimension count of '\(tensorName)'")
            guard rank <= GGUFFile.maxDimensions else {
                throw bad("\(rank) dimensions, more than the \(GGUFFile.maxDimensions) ggml allows")
            }
            var dimensions: [Int] = []
            for _ in 0..<rank {
                let d = try reader.u64("the dimensions of '\(tensorName)'")
                guard d <= UInt64(Int.max) else { throw bad("dimension \(d) is not below 2^63") }
                dimensions.append(Int(d))
            }
            let rawType = try reader.u32("the type of '\(tensorName)'")
            guard let type = GGMLType(rawValue: rawType) else { throw bad("unknown ggml type \(rawType)") }
            let relative = try reader.u64("the offset of '\(tensorName)'")
            guard relative <= UInt64(Int.max) else { throw bad("offset \(relative) is not below 2^63") }
            let rowLength = dimensions.first ?? 1
            guard let rowBytes = type.rowBytes(elements: rowLength) else {
                throw bad("a row of \(rowLength) elements is not a whole number of \(type.name) blocks of \(type.blockSize)")
            }
            guard checkedProduct(dimensions) != nil, let byteCount = checkedProduct([rowBytes] + dimensions.dropFirst()) else {
                throw bad("dimensions \(dimensions) overflow the element or byte count")
            }
            guard Int(relative) % alignment == 0 else {
                throw bad("offset \(relative) is not a multiple of the alignment \(alignment)")
            }
            infos.append((tensorName, dimensions, type, Int(relative), byteCount))
        }

        // The data section starts at the next multiple of the alignment.
        let headerEnd = reader.offset
        guard let dataOffset = checkedSum(headerEnd, (alignment - headerEnd % alignment) % alignment) else {
            throw ModelTreeError.format("the data section's offset overflows")
        }
        let fileSize = reader.source.size
        // Even a tensor of zero bytes is somewhere: the data section must start inside the file
        // (a writer pads the header before the first tensor, so only a truncated file fails).
        if !infos.isEmpty && dataOffset > fileSize {
            throw ModelTreeError.format("the data section starts at byte \(dataOffset), past the end of the file (\(fileSize) bytes)")
        }
        let dataSize = fileSize - Swift.min(dataOffset, fileSize)
        // In file order of their offsets, the tensors must lie inside the data section and not overlap.
        var order = Array(infos.indices)
        order.sort { (infos[$0].offset, infos[$0].byteCount) < (infos[$1].offset, infos[$1].byteCount) }
        var covered = 0, previous: String?
        for i in order {
            let t = infos[i]
            if t.byteCount > 0 && t.offset < covered {
                throw ModelTreeError.format("tensor '\(t.name)' (bytes \(t.offset)..<\(t.offset + t.byteCount) of the data section) overlaps tensor '\(previous!)', which ends at \(covered)")
            }
            guard let end = checkedSum(t.offset, t.byteCount), end <= dataSize else {
                throw ModelTreeError.format("tensor '\(t.name)' (\(t.byteCount) bytes at \(t.offset) of the data section) runs past the end of the file (the data section holds \(dataSize) bytes from byte \(dataOffset))")
            }
            if t.byteCount > 0 { covered = end; previous = t.name }
        }
        let tensors = infos.map {
            GGUFTensorInfo(name: $0.name, dimensions: $0.dimensions, type: $0.type, offset: dataOffset + $0.offset, byteCount: $0.byteCount)
        }
        return GGUFFile(version: version, metadata: metadata, tensors: tensors, alignment: alignment, dataOffset: dataOffset)
    }

    /// Fails when `count` entries of at least `each` bytes cannot fit in what is left of the
    /// header, or are more than `maxEntries`.
    private func requireRoom(_ count: UInt64, each: Int, _ what: String) throws {
        guard count <= UInt64(GGUFFile.maxEntries) else {
            throw ModelTreeError.format("the header claims \(count) \(what), more than the limit of \(GGUFFile.maxEntries)")
        }
        guard count <= UInt64(reader.remaining / each) else {
            throw ModelTreeError.format("the header claims \(count) \(what), more than the \(reader.remaining) bytes left before the end of \(reader.limitName) can hold")
        }
    }

    /// A GGUF string that names something (a key or a tensor): UTF-8, at most 65,535 bytes.
    private mutating func name(_ what: String) throws -> String {
        let length = try reader.u64("the length of the \(what)")
        guard length <= UInt64(GGUFFile.maxNameLength) else {
            throw ModelTreeError.format("the \(what) is \(length) bytes long, over the limit of \(GGUFFile.maxNameLength)")
        }
        let text = try reader.withBytes(Int(length), "the \(what)") { validUTF8($0) }
        guard let text else { throw ModelTreeError.format("the \(what) is not valid UTF-8") }
        return text
    }

    /// A u64 length that must fit in what is left of the header.
    private mutating func length(_ what: String) throws -> Int {
        let length = try reader.u64("the length of \(what)")
        guard length <= UInt64(reader.remaining) else {
            throw ModelTreeError.format("\(what) (\(length) bytes at byte \(reader.offset)) runs past the end of \(reader.limitName) at byte \(reader.limit)")
        }
        return Int(length)
    }

    /// A string value; `key` names it in errors.
    private mutating func string(key: String) throws -> String {
        let n = try length("a string in '\(key)'")
        guard let text = try reader.withBytes(n, "a string in '\(key)'", { validUTF8($0) }) else {
            throw ModelTreeError.format("a string in '\(key)' is not valid UTF-8")
        }
        return text
    }

    /// A string element of an array: nil when it is not UTF-8 (tokenizer vocabularies are not
    /// ours to judge: such an array is left in the file, not refused), unless `strict`; nil
    /// without looking at it when the array is not being kept (`keep` false).
    private mutating func arrayString(key: String, keep: Bool) throws -> GGUFValue? {
        valuesMade += 1
        let n = try length("a string in '\(key)'")
        guard keep || strict else {
            try reader.skip(n, "a string in '\(key)'")
            return nil
        }
        guard let text = try reader.withBytes(n, "a string in '\(key)'", { validUTF8($0) }) else {
            if strict { throw ModelTreeError.format("a string in '\(key)' is not valid UTF-8") }
            return nil
        }
        return .string(text)
    }

    private mutating func parseValue(_ type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        valuesMade += 1
        let what = "the value of '\(key)'"
        switch type {
        case .uint8: return .uint8(try reader.u8(what))
        case .int8: return .int8(Int8(bitPattern: try reader.u8(what)))
        case .uint16: return .uint16(try reader.u16(what))
        case .int16: return .int16(Int16(bitPattern: try reader.u16(what)))
        case .uint32: return .uint32(try reader.u32(what))
        case .int32: return .int32(Int32(bitPattern: try reader.u32(what)))
        case .float32: return .float32(Float(bitPattern: try reader.u32(what)))
        case .uint64: return .uint64(try reader.u64(what))
        case .int64: return .int64(Int64(bitPattern: try reader.u64(what)))
        case .float64: return .float64(Double(bitPattern: try reader.u64(what)))
        case .bool:
            let b = try reader.u8(what)
            guard b <= 1 else { throw ModelTreeError.format("'\(key)' holds a bool of value \(b), not 0 or 1") }
            return .bool(b == 1)
        case .string: return .string(try string(key: key))
        case .array:
            guard depth < GGUFFile.maxArrayDepth else {
                throw ModelTreeError.format("'\(key)' nests arrays deeper than \(GGUFFile.maxArrayDepth)")
            }
            let rawType = try reader.u32("the element type of '\(key)'")
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw ModelTreeError.format("'\(key)' is an array of unknown value type \(rawType)")
            }
            let count = try reader.u64("the length of '\(key)'")
            guard count <= UInt64(reader.remaining / elementType.minimumSize) else {
                throw ModelTreeError.format("'\(key)' claims \(count) elements of \(elementType), more than the \(reader.remaining) bytes left before the end of \(reader.limitName) can hold")
            }
            return .array(try parseElements(elementType, count: Int(count), key: key, depth: depth + 1))
        }
    }

    /// The `count` elements of an array (after its type and count): validated, and kept when the
    /// budget allows. Fixed-size elements that are not kept are skipped in one step.
    mutating func parseElements(_ type: GGUFValueType, count: Int, key: String, depth: Int) throws -> GGUFArray {
        let start = reader.offset, valuesBefore = valuesMade
        // What keeping the elements read so far costs: their encoding and a value each.
        func cost() -> Int { reader.offset - start + GGUFFile.keptValueCost * (valuesMade - valuesBefore) }
        if let size = type.fixedSize {
            let bytes = count * size           // cannot overflow: count ≤ remaining / size
            let keptCost = bytes + GGUFFile.keptValueCost * count
            if keptCost <= maxKeptArray && keptCost <= inlineBudget {
                inlineBudget -= keptCost
                var elements: [GGUFValue] = []
                elements.reserveCapacity(count)
                for _ in 0..<count { elements.append(try parseValue(type, key: key, depth: depth)) }
                return GGUFArray(elementType: type, count: count, range: start..<reader.offset, elements: elements)
            }
            if type == .bool {
                // Each byte must still be 0 or 1: read them through the window.
                for _ in 0..<count { _ = try parseValue(.bool, key: key, depth: depth) }
            } else {
                try reader.skip(bytes, "the elements of '\(key)'")
            }
            return GGUFArray(elementType: type, count: count, range: start..<reader.offset, elements: nil)
        }
        // Strings and arrays: every element is walked; the elements are kept (strings validated)
        // only while the whole array may still fit the budget — each at least its minimum size
        // plus a value — and collected tentatively until it is known to.
        let budgetBefore = inlineBudget
        let limit = Swift.min(maxKeptArray, budgetBefore)
        var elements: [GGUFValue]? = count <= limit / (type.minimumSize + GGUFFile.keptValueCost) ? [] : nil
        for _ in 0..<count {
            let value = type == .string ? try arrayString(key: key, keep: elements != nil) : try parseValue(type, key: key, depth: depth)
            if let value, elements != nil, cost() <= limit {
                elements!.append(value)
            } else {
                elements = nil
            }
        }
        inlineBudget = elements != nil ? budgetBefore - cost() : budgetBefore
        return GGUFArray(elementType: type, count: count, range: start..<reader.offset, elements: elements)
    }
}

/// A value's type as the spec names it, for messages.
private func describe(_ value: GGUFValue) -> String {
    switch value {
    case .uint8: return "a uint8"
    case .int8: return "an int8"
    case .uint16: return "a uint16"
    case .int16: return "an int16"
    case .uint32: return "a uint32"
    case .int32: return "an int32"
    case .uint64: return "a uint64"
    case .int64: return "an int64"
    case .float32: return "a float32"
    case .float64: return "a float64"
    case .bool: return "a bool"
    case .string: return "a string"
    case .array: return "an array"
    }
}

private func hex(_ b: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
}
