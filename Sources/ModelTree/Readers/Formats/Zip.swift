/// The entries of a zip archive whose entries are all stored, uncompressed — what `torch.save`
/// writes (PKWARE APPNOTE 6.3: end of central directory record, ZIP64 end of central directory
/// record and locator, central directory headers, local file headers).
///
/// Only what a stored archive needs is read: the central directory (where every entry's size and
/// offset are authoritative — torch.save sets the data-descriptor flag and leaves the local
/// headers' sizes zero) and each entry's local header (for the length of its name and extra
/// field, which torch pads to align the data). Checked before anything is used:
/// - one end-of-central-directory record, found in the last 65,557 bytes with a comment length
///   that reaches exactly to the end of the file; a single disk; ZIP64 fields where the 32-bit
///   ones say 0xFFFFFFFF;
/// - the central directory lies before its end record, is at most `maxDirectoryLength`
///   (100,000,000 bytes) and holds exactly the number of entries announced, at most
///   `maxEntries` (1,000,000; each at least 46 bytes, so a hostile count fails before any loop);
/// - entries: not encrypted, a stored entry's compressed size equal to its size, UTF-8 names,
///   unique, a local header with the same name, data inside the file and before the central
///   directory, no two entries' bytes overlapping.
/// Encrypted entries are refused. A compressed entry is listed (so that a caller can tell what
/// the archive is — TorchScript archives deflate their code) but refused when used
/// (`requireStored`): `torch.save` never compresses, so such a file was re-packed by another tool.
struct ZipArchive {
    struct Entry: Equatable {
        let name: String
        /// Absolute offset of the entry's first data byte.
        let dataOffset: Int
        /// The size of the data (uncompressed).
        let size: Int
        /// 0 (stored) for every entry that can be used.
        let method: Int
        /// The CRC-32 the central directory records (checked by `read` for small entries).
        let crc32: UInt32
    }

    /// Throws unless `entry` is stored.
    /// - Throws: `.format("zip: 'x' is compressed (method 8, deflate); torch.save stores …")`.
    static func requireStored(_ entry: Entry) throws {
        guard entry.method == 0 else {
            throw ModelTreeError.format("zip: '\(entry.name)' is compressed (method \(entry.method)\(entry.method == 8 ? ", deflate" : "")); torch.save stores entries uncompressed, so this archive was re-packed by another tool — extract and re-save it with torch.save")
        }
    }

    /// The entries in central directory order.
    let entries: [Entry]
    private let index: [String: Int]

    static let maxDirectoryLength = 100_000_000
    /// A torch.save archive has one entry per storage and five more.
    static let maxEntries = 1_000_000

    func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// Parses and validates the archive's directory in `source`.
    /// - Throws: `.format` naming what is wrong; `.io` when a file cannot be read.
    static func parse(_ source: ByteSource) throws -> ZipArchive {
        let size = source.size
        let tailLength = Swift.min(size, 22 + 0xFFFF)
        let tail = try source.bytes(count: tailLength, at: size - tailLength)
        guard let eocd = findEndRecord(tail) else {
            throw ModelTreeError.format("not a zip archive (no end of central directory record)")
        }
        let eocdOffset = size - tailLength + eocd
        var record = SourceReader(source, from: eocdOffset + 4)     // after the signature
        var disk = Int(try record.u16("the end record")), directoryDisk = Int(try record.u16("the end record"))
        var entriesHere = Int(try record.u16("the end record")), entryCount = Int(try record.u16("the end record"))
        var directorySize = Int(try record.u32("the end record")), directoryOffset = Int(try record.u32("the end record"))
        var directoryEnd = eocdOffset                 // where the central directory must end by
        if entriesHere == 0xFFFF || entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // ZIP64: a locator just before the end record points to the ZIP64 end record.
            guard eocdOffset >= 20 + 56 else { throw ModelTreeError.format("zip: ZIP64 sizes but no room for a ZIP64 end record and locator") }
            var locator = SourceReader(source, from: eocdOffset - 20)
            guard try locator.u32("the ZIP64 locator") == 0x0706_4b50 else {
                throw ModelTreeError.format("zip: ZIP64 sizes but no ZIP64 locator before the end record")
            }
            let recordDisk = try locator.u32("the ZIP64 locator")
            let recordOffset = try locator.u64("the ZIP64 locator")
            let disks = try locator.u32("the ZIP64 locator")
            guard recordDisk == 0, disks == 1 else { throw ModelTreeError.format("zip: archives split over several disks are not supported") }
            guard recordOffset <= UInt64(eocdOffset - 20 - 56) else {
                throw ModelTreeError.format("zip: the ZIP64 end record offset \(recordOffset) is not before its locator")
            }
            record = SourceReader(source, from: Int(recordOffset), limit: eocdOffset - 20, limitName: "the ZIP64 locator")
            guard try record.u32("the ZIP64 end record") == 0x0606_4b50 else {
                throw ModelTreeError.format("zip: no ZIP64 end of central directory record at byte \(recordOffset)")
            }
            _ = try record.u64("the ZIP64 end record")     // its size
            _ = try record.u32("the ZIP64 end record")     // versions made by and needed
            disk = Int(try record.u32("the ZIP64 end record"))
            directoryDisk = Int(try record.u32("the ZIP64 end record"))
            let here = try record.u64("the ZIP64 end record"), total = try record.u64("the ZIP64 end record")
            let dirSize = try record.u64("the ZIP64 end record"), dirOffset = try record.u64("the ZIP64 end record")
            guard here <= UInt64(Int.max), total <= UInt64(Int.max), dirSize <= UInt64(Int.max), dirOffset <= UInt64(Int.max) else {
                throw ModelTreeError.format("zip: ZIP64 counts or offsets beyond 2^63")
            }
            (entriesHere, entryCount, directorySize, directoryOffset) = (Int(here), Int(total), Int(dirSize), Int(dirOffset))
            directoryEnd = Int(recordOffset)
        }
        guard disk == 0, directoryDisk == 0, entriesHere == entryCount else {
            throw ModelTreeError.format("zip: archives split over several disks are not supported")
        }
        guard directorySize <= maxDirectoryLength else {
            throw ModelTreeError.format("zip: the central directory is \(directorySize) bytes, over the limit of \(maxDirectoryLength)")
        }
        guard directoryOffset <= directoryEnd, directorySize <= directoryEnd - directoryOffset else {
            throw ModelTreeError.format("zip: the central directory (\(directorySize) bytes at \(directoryOffset)) does not end before its end record at \(directoryEnd)")
        }
        guard entryCount <= maxEntries else {
            throw ModelTreeError.format("zip: \(entryCount) entries, more than the limit of \(maxEntries)")
        }
        guard entryCount <= directorySize / 46 else {
            throw ModelTreeError.format("zip: \(entryCount) entries cannot fit in a \(directorySize)-byte central directory")
        }

        var reader = SourceReader(source, from: directoryOffset, limit: directoryOffset + directorySize, limitName: "the central directory")
        // The local headers, through one window: small entries share a read.
        var local = SourceReader(source, limit: directoryOffset, limitName: "the central directory", windowSize: 64 << 10)
        var entries: [Entry] = []
        var index: [String: Int] = [:]
        var spans: [(start: Int, end: Int, name: String)] = []
        for i in 0..<entryCount {
            let what = "central directory entry \(i)"
            guard try reader.u32(what) == 0x0201_4b50 else { throw ModelTreeError.format("zip: \(what) has no signature") }
            try reader.skip(4, what)                                   // versions
            let flags = try reader.u16(what), method = try reader.u16(what)
            try reader.skip(4, what)                                   // time, date
            let crc = try reader.u32(what)
            var compressed = Int(try reader.u32(what)), uncompressed = Int(try reader.u32(what))
            let nameLength = Int(try reader.u16(what)), extraLength = Int(try reader.u16(what)), commentLength = Int(try reader.u16(what))
            var startDisk = Int(try reader.u16(what))
            try reader.skip(6, what)                                   // attributes
            var localOffset = Int(try reader.u32(what))
            guard let name = try reader.withBytes(nameLength, "the name of \(what)", { validUTF8($0) }) else {
                throw ModelTreeError.format("zip: the name of \(what) is not UTF-8")
            }
            let extra = try reader.bytes(extraLength, "the extra field of '\(name)'")
            try reader.skip(commentLength, "the comment of '\(name)'")
            // ZIP64 extended information: 8-byte values (4 for the disk) for the fields that are
            // at their 32-bit maximum, in this order.
            if uncompressed == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF || localOffset == 0xFFFF_FFFF || startDisk == 0xFFFF {
                guard let zip64 = extraField(0x0001, in: extra) else {
                    throw ModelTreeError.format("zip: '\(name)' has 32-bit fields set to their maximum but no ZIP64 extra field")
                }
                var p = 0
                func next(_ width: Int) throws -> Int {
                    guard p + width <= zip64.count else { throw ModelTreeError.format("zip: the ZIP64 extra field of '\(name)' is too short") }
                    var v: UInt64 = 0
                    for b in (0..<width).reversed() { v = v << 8 | UInt64(zip64[p + b]) }
                    p += width
                    guard v <= UInt64(Int.max) else { throw ModelTreeError.format("zip: '\(name)' has a ZIP64 value beyond 2^63") }
                    return Int(v)
                }
                if uncompressed == 0xFFFF_FFFF { uncompressed = try next(8) }
                if compressed == 0xFFFF_FFFF { compressed = try next(8) }
                if localOffset == 0xFFFF_FFFF { localOffset = try next(8) }
                if startDisk == 0xFFFF { startDisk = try next(4) }
            }
            guard flags & 0x41 == 0 else {
                throw ModelTreeError.format("zip: '\(name)' is encrypted; torch.save never encrypts (was the archive re-packed?)")
            }
            guard method != 0 || compressed == uncompressed else {
                throw ModelTreeError.format("zip: '\(name)' is stored but its compressed size \(compressed) differs from its size \(uncompressed)")
            }
            guard startDisk == 0 else { throw ModelTreeError.format("zip: archives split over several disks are not supported") }
            guard index.updateValue(i, forKey: name) == nil else { throw ModelTreeError.format("zip: two entries are named '\(name)'") }

            // The local header: its name must match, and its extra field (torch's alignment
            // padding) decides where the data starts.
            guard localOffset <= directoryOffset - 30 else {
                throw ModelTreeError.format("zip: the local header of '\(name)' (at \(localOffset)) is not before the central directory")
            }
            local.seek(localOffset)
            guard try local.u32("the local header of '\(name)'") == 0x0403_4b50 else {
                throw ModelTreeError.format("zip: no local header for '\(name)' at byte \(localOffset)")
            }
            try local.skip(22, "the local header of '\(name)'")
            let localName = Int(try local.u16("the local header of '\(name)'")), localExtra = Int(try local.u16("the local header of '\(name)'"))
            guard try local.bytes(localName, "the local name of '\(name)'") == Array(name.utf8) else {
                throw ModelTreeError.format("zip: the local header at byte \(localOffset) names another entry than '\(name)'")
            }
            try local.skip(localExtra, "the local extra field of '\(name)'")
            let dataOffset = local.offset
            guard compressed <= directoryOffset - dataOffset else {
                throw ModelTreeError.format("zip: '\(name)' (\(compressed) bytes at \(dataOffset)) runs into the central directory at \(directoryOffset)")
            }
            entries.append(Entry(name: name, dataOffset: dataOffset, size: uncompressed, method: Int(method), crc32: crc))
            spans.append((localOffset, dataOffset + compressed, name))
        }
        guard reader.remaining == 0 else {
            throw ModelTreeError.format("zip: \(reader.remaining) bytes after the \(entryCount) entries of the central directory")
        }
        // No two entries may share bytes: each is read as what its name says it is.
        spans.sort { $0.start < $1.start }
        for k in spans.indices.dropFirst() where spans[k].start < spans[k - 1].end {
            throw ModelTreeError.format("zip: entries '\(spans[k - 1].name)' and '\(spans[k].name)' overlap")
        }
        return ZipArchive(entries: entries, index: index)
    }

    /// The offset in `tail` of the end record: the last signature whose comment length reaches
    /// exactly to the end (so a signature inside a comment is not taken for the record).
    private static func findEndRecord(_ tail: [UInt8]) -> Int? {
        guard tail.count >= 22 else { return nil }
        var p = tail.count - 22
        while p >= 0 {
            if tail[p] == 0x50, tail[p + 1] == 0x4b, tail[p + 2] == 0x05, tail[p + 3] == 0x06,
               Int(tail[p + 20]) | Int(tail[p + 21]) << 8 == tail.count - p - 22 {
                return p
            }
            p -= 1
        }
        return nil
    }

    /// The data of the extra field with header `id`, if present and well formed.
    private static func extraField(_ id: UInt16, in extra: [UInt8]) -> [UInt8]? {
        var p = 0
        while p + 4 <= extra.count {
            let fieldID = UInt16(extra[p]) | UInt16(extra[p + 1]) << 8
            let length = Int(extra[p + 2]) | Int(extra[p + 3]) << 8
            guard p + 4 + length <= extra.count else { return nil }
            if fieldID == id { return Array(extra[p + 4..<p + 4 + length]) }
            p += 4 + length
        }
        return nil
    }

    /// The whole of entry `entry` (at most `limit` bytes), its CRC-32 checked.
    /// - Throws: `.format` when it is compressed, larger than `limit` or its CRC differs.
    func read(_ entry: Entry, from source: ByteSource, limit: Int) throws -> [UInt8] {
        try Self.requireStored(entry)
        guard entry.size <= limit else {
            throw ModelTreeError.format("zip: '\(entry.name)' is \(entry.size) bytes, over the limit of \(limit)")
        }
        let bytes = try source.bytes(count: entry.size, at: entry.dataOffset)
        guard crc32(bytes) == entry.crc32 else {
            throw ModelTreeError.format("zip: '\(entry.name)' does not match its CRC-32 (the archive is damaged)")
        }
        return bytes
    }
}

/// CRC-32 (ISO 3309, the zip polynomial 0xEDB88320), a table per call of 1 KiB.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var table = [UInt32](repeating: 0, count: 256)
    for n in 0..<256 {
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        table[n] = c
    }
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
    return crc ^ 0xFFFF_FFFF
}
