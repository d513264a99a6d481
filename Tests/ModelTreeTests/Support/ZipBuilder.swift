/// Builds zip archives byte by byte from PKWARE's APPNOTE, independently of the reader: stored
/// entries with the fields a test wants to break (method, flags, sizes, names), and ZIP64 records.
struct ZipBuilder {
    struct Entry {
        var name: String
        var data: [UInt8]
        var method: UInt16 = 0
        var flags: UInt16 = 0x0800                 // UTF-8 names
        var crc: UInt32?                           // nil: the right one
        var compressedSize: UInt32?                // nil: the data's size
        var localName: String?                     // nil: `name`
        /// Padding in the local header's extra field (torch aligns data to 64 bytes).
        var localExtra: [UInt8] = []
        /// Write sizes and offset as 0xFFFFFFFF with a ZIP64 extra field in the central directory.
        var zip64 = false
        /// Write no local header: the central directory points at this offset (for overlaps).
        var centralOnlyAt: Int?
    }

    /// The bytes of a local header for `name` followed by `data`, to embed in another entry.
    static func localHeader(_ name: String, _ data: [UInt8]) -> [UInt8] {
        LE.u32(0x0403_4b50) + LE.u16(20) + LE.u16(0x0800) + LE.u16(0) + LE.u16(0) + LE.u16(0)
            + LE.u32(crc32Reference(data)) + LE.u32(UInt32(data.count)) + LE.u32(UInt32(data.count))
            + LE.u16(UInt16(name.utf8.count)) + LE.u16(0) + Array(name.utf8) + data
    }

    var entries: [Entry] = []
    /// Write a ZIP64 end record and locator (with 0xFFFF/0xFFFFFFFF in the classic end record).
    var zip64End = false
    var comment: [UInt8] = []
    /// Overrides of the end record's fields.
    var entryCount: Int?

    mutating func add(_ name: String, _ data: [UInt8]) { entries.append(Entry(name: name, data: data)) }

    var bytes: [UInt8] {
        var out: [UInt8] = []
        var directory: [UInt8] = []
        for e in entries {
            let offset = e.centralOnlyAt ?? out.count
            let crc = e.crc ?? crc32Reference(e.data)
            let name = Array((e.localName ?? e.name).utf8)
            if e.centralOnlyAt == nil {
                out += LE.u32(0x0403_4b50) + LE.u16(20) + LE.u16(e.flags) + LE.u16(e.method) + LE.u16(0) + LE.u16(0)
                out += LE.u32(crc) + LE.u32(e.compressedSize ?? UInt32(e.data.count)) + LE.u32(UInt32(e.data.count))
                out += LE.u16(UInt16(name.count)) + LE.u16(UInt16(e.localExtra.count)) + name + e.localExtra + e.data
            }
            let big: UInt32 = 0xFFFF_FFFF
            var extra: [UInt8] = []
            if e.zip64 {
                let fields = LE.u64(UInt64(e.data.count)) + LE.u64(UInt64(e.compressedSize ?? UInt32(e.data.count))) + LE.u64(UInt64(offset))
                extra = LE.u16(0x0001) + LE.u16(UInt16(fields.count)) + fields
            }
            directory += LE.u32(0x0201_4b50) + LE.u16(45) + LE.u16(45) + LE.u16(e.flags) + LE.u16(e.method) + LE.u16(0) + LE.u16(0)
            directory += LE.u32(crc)
            directory += e.zip64 ? LE.u32(big) + LE.u32(big) : LE.u32(e.compressedSize ?? UInt32(e.data.count)) + LE.u32(UInt32(e.data.count))
            directory += LE.u16(UInt16(e.name.utf8.count)) + LE.u16(UInt16(extra.count)) + LE.u16(0) + LE.u16(0) + LE.u16(0) + LE.u32(0)
            directory += (e.zip64 ? LE.u32(big) : LE.u32(UInt32(offset))) + Array(e.name.utf8) + extra
        }
        let directoryOffset = out.count
        out += directory
        let count = entryCount ?? entries.count
        if zip64End {
            let recordOffset = out.count
            out += LE.u32(0x0606_4b50) + LE.u64(44) + LE.u16(45) + LE.u16(45) + LE.u32(0) + LE.u32(0)
            out += LE.u64(UInt64(count)) + LE.u64(UInt64(count)) + LE.u64(UInt64(directory.count)) + LE.u64(UInt64(directoryOffset))
            out += LE.u32(0x0706_4b50) + LE.u32(0) + LE.u64(UInt64(recordOffset)) + LE.u32(1)
            out += LE.u32(0x0605_4b50) + LE.u16(0) + LE.u16(0) + LE.u16(0xFFFF) + LE.u16(0xFFFF)
            out += LE.u32(0xFFFF_FFFF) + LE.u32(0xFFFF_FFFF)
        } else {
            out += LE.u32(0x0605_4b50) + LE.u16(0) + LE.u16(0) + LE.u16(UInt16(count)) + LE.u16(UInt16(count))
            out += LE.u32(UInt32(directory.count)) + LE.u32(UInt32(directoryOffset))
        }
        return out + LE.u16(UInt16(comment.count)) + comment
    }
}

/// CRC-32 computed bit by bit from the polynomial (no table), as a reference for the reader's.
func crc32Reference(_ data: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in data {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}
