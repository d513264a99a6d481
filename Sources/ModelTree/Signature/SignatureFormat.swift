/// The byte format of a signature, version 1. Every integer and float is little-endian whatever
/// the machine; a string is a u32 byte length and that many bytes of UTF-8.
///
/// ```text
/// header   8 bytes  magic "MTSIGNAT"
///          u32      format version (1)
///          u32      number of sections (3)
/// section  4 bytes  tag: "META", then "DIST", then "RANK"
///          u64      payload length in bytes
///          u64      XXH64 (seed 0) of the payload
///          …        payload
/// ```
/// Nothing follows the last section.
///
/// META: u32 distance buckets k, u32 coarse buckets, u32 rank rows R, u32 rank columns K, u32
/// rank hits s; string id; u8 has-path, [string path]; string format; u32 file count, per file
/// (string path, u64 size, i64 modification time in ns, u64 device, u64 inode); u64 model hash;
/// u32 tensor count, per tensor in name order: string name, u8 ndim, ndim × u64 dims, string
/// type, f64 unit roundoff, u64 finite count, u64 non-finite count, f32 minimum, f32 maximum,
/// f64 shift, f64 × 4 power sums about the shift, u64 content hash, u8 kind (0 no sketch,
/// 1 values kept, 2 sketched).
/// DIST: per tensor of kind 1, its values as f32 (row-major); of kind 2, k × f64.
/// RANK: per tensor of kind 2: u32 rows, u32 columns, u8 bytes per value (4 or 8), then the
/// values, column-major.
///
/// A reader refuses an unknown version, a wrong magic, a checksum that does not match, a length
/// that runs past the end or leaves bytes over, and anything inconsistent (a shape whose size
/// overflows, tensors out of order, sketches of the wrong size or of tensors the rules do not
/// sketch, a model hash that does not match the tensors): each with a one-line `.format` error.
extension ModelSignature {
    static let magic: [UInt8] = Array("MTSIGNAT".utf8)
    /// The format version this library writes and reads.
    public static let formatVersion: UInt32 = 1
    static let sectionTags = ["META", "DIST", "RANK"]
    /// Bytes of a section's header (tag, length, checksum).
    static let sectionHeader = 20

    /// The signature as a byte string (see the format above). The corresponding C function is
    /// `modeltree_signature_serialize`.
    /// - Throws: `.invalidArgument` when a rank sketch was not loaded (a signature read for
    ///   distances only cannot be written back).
    public func serialized() throws -> [UInt8] {
        var out = ByteWriter()
        out.append(Self.magic)
        out.u32(Self.formatVersion)
        out.u32(3)
        for section in try sections() { out.append(section) }
        return out.bytes
    }

    /// The three sections, each with its header, as the index stores them.
    package func sections() throws -> [[UInt8]] {
        [Self.section("META", metaPayload()), Self.section("DIST", distancePayload()), Self.section("RANK", try rankPayload())]
    }

    /// The DIST section with its header, as the index stores it (duplicates compare it).
    package func distanceSection() -> [UInt8] { Self.section("DIST", distancePayload()) }

    static func section(_ tag: String, _ payload: [UInt8]) -> [UInt8] {
        var out = ByteWriter()
        out.append(Array(tag.utf8))
        out.u64(UInt64(payload.count))
        out.u64(Hashing.xxh64(payload))
        out.append(payload)
        return out.bytes
    }

    private func metaPayload() -> [UInt8] {
        var w = ByteWriter()
        for v in [parameters.distanceBuckets, parameters.coarseBuckets, parameters.rankRows, parameters.rankColumns, parameters.rankHits] {
            w.u32(UInt32(v))
        }
        w.string(id)
        if let path { w.u8(1); w.string(path) } else { w.u8(0) }
        w.string(format)
        w.u32(UInt32(files.count))
        for f in files {
            w.string(f.path); w.u64(UInt64(f.size)); w.i64(Int64(f.modified)); w.u64(UInt64(f.device)); w.u64(UInt64(f.inode))
        }
        w.u64(hash)
        w.u32(UInt32(tensors.count))
        for t in tensors {
            w.string(t.name)
            w.u8(UInt8(t.shape.count))
            for d in t.shape { w.u64(UInt64(d)) }
            w.string(t.typeName)
            w.f64(t.unitRoundoff)
            let m = t.moments
            w.u64(UInt64(m.count)); w.u64(UInt64(m.nonFinite)); w.f32(m.minimum); w.f32(m.maximum)
            w.f64(m.center); w.f64(m.s1); w.f64(m.s2); w.f64(m.s3); w.f64(m.s4)
            w.u64(t.hash)
            switch t.sketch {
            case nil: w.u8(0)
            case .exact?: w.u8(1)
            case .sketched?: w.u8(2)
            }
        }
        return w.bytes
    }

    private func distancePayload() -> [UInt8] {
        var w = ByteWriter()
        for t in tensors {
            switch t.sketch {
            case .exact(let values)?: w.f32s(values)
            case .sketched(let distance, _)?: w.f64s(distance)
            case nil: break
            }
        }
        return w.bytes
    }

    private func rankPayload() throws -> [UInt8] {
        var w = ByteWriter()
        for t in tensors {
            guard case .sketched(_, let rank)? = t.sketch else { continue }
            guard let rank else {
                throw ModelTreeError.invalidArgument("signature of '\(id)': the rank sketch of '\(t.name)' was not loaded")
            }
            w.u32(UInt32(rank.rows)); w.u32(UInt32(rank.columns)); w.u8(rank.single ? 4 : 8)
            if rank.single { w.f32s(rank.values.map { Float($0) }) } else { w.f64s(rank.values) }
        }
        return w.bytes
    }

    /// Reads a signature written by `serialized()` (any machine, same format version). The
    /// corresponding C function is `modeltree_signature_deserialize`.
    /// - Throws: `.format` naming the problem (see the format above).
    public init(bytes: UnsafeRawBufferPointer) throws {
        var r = ByteReader(bytes, what: "signature")
        let magic = try r.bytes(8, "magic")
        guard Array(magic) == Self.magic else { throw r.error("not a signature (the first bytes are not \"MTSIGNAT\")") }
        let version = try r.u32("version")
        guard version == Self.formatVersion else {
            throw r.error(version > Self.formatVersion
                ? "format version \(version) is newer than this library reads (\(Self.formatVersion)): update libmodeltree, or compute the signature again with this one"
                : "format version \(version) is not one this library reads (\(Self.formatVersion))")
        }
        let count = try r.u32("section count")
        guard count == 3 else { throw r.error("\(count) sections, expected 3 (META, DIST, RANK)") }
        var payloads: [UnsafeRawBufferPointer] = []
        for tag in Self.sectionTags { payloads.append(try Self.readSection(&r, tag)) }
        try r.finish()
        try self.init(meta: payloads[0], distances: payloads[1], ranks: payloads[2])
    }

    public init(bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { try ModelSignature(bytes: $0) }
    }

    /// One section's payload, its tag and checksum checked.
    static func readSection(_ r: inout ByteReader, _ tag: String) throws -> UnsafeRawBufferPointer {
        let found = try r.bytes(4, "section tag")
        guard Array(found) == Array(tag.utf8) else {
            throw r.error("expected section \(tag), found \(String(decoding: found, as: UTF8.self).debugDescription)")
        }
        let length = try r.count("length of section \(tag)", limit: r.remaining)
        let check = try r.u64("checksum of section \(tag)")
        let payload = try r.bytes(length, "section \(tag)")
        guard let base = payload.baseAddress ?? UnsafeRawPointer(bitPattern: 8),
              Hashing.xxh64(base, count: length) == check else {
            throw r.error("section \(tag) is corrupt (its checksum does not match)")
        }
        return payload
    }

    /// A section stored apart (as the index stores them): its payload, header checked.
    package static func sectionPayload(_ bytes: UnsafeRawBufferPointer, _ tag: String, what: String) throws -> UnsafeRawBufferPointer {
        var r = ByteReader(bytes, what: what)
        let payload = try readSection(&r, tag)
        try r.finish()
        return payload
    }

    /// A signature from its sections' payloads; `ranks` nil leaves the rank sketches unloaded.
    package init(meta: UnsafeRawBufferPointer, distances: UnsafeRawBufferPointer?, ranks: UnsafeRawBufferPointer?) throws {
        var r = ByteReader(meta, what: "signature section META")
        let p = Parameters(distanceBuckets: Int(try r.u32("distance buckets")), coarseBuckets: Int(try r.u32("coarse buckets")),
                           rankRows: Int(try r.u32("rank rows")), rankColumns: Int(try r.u32("rank columns")),
                           rankHits: Int(try r.u32("rank hits")))
        do { try p.validate() } catch let e as ModelTreeError { throw r.error(e.message) }
        let id = try r.string("id")
        let path: String?
        switch try r.u8("path flag") {
        case 0: path = nil
        case 1: path = try r.string("path")
        case let f: throw r.error("path flag \(f) is neither 0 nor 1")
        }
        let format = try r.string("format")
        let fileCount = Int(try r.u32("file count"))
        guard fileCount <= r.remaining / 36 else { throw r.error("file count \(fileCount) runs past the end") }
        var files: [FileIdentity] = []
        for _ in 0..<fileCount {
            let fp = try r.string("file path")
            let size = try r.count("file size", limit: Int.max)
            let modified = Int(try r.i64("file time"))
            let device = UInt(try r.u64("file device")), inode = UInt(try r.u64("file inode"))
            files.append(FileIdentity(path: fp, size: size, modified: modified, device: device, inode: inode))
        }
        let hash = try r.u64("model hash")
        let tensorCount = Int(try r.u32("tensor count"))
        guard tensorCount >= 1, tensorCount <= r.remaining / 80 else { throw r.error("tensor count \(tensorCount) is 0 or runs past the end") }
        var tensors: [Tensor] = []
        var kinds: [UInt8] = []
        for k in 0..<tensorCount {
            let name = try r.string("name of tensor \(k)")
            if let last = tensors.last, !(last.name < name) {
                throw r.error("tensors out of order or repeated ('\(last.name)' before '\(name)')")
            }
            let ndim = Int(try r.u8("ndim of '\(name)'"))
            guard ndim <= 64 else { throw r.error("tensor '\(name)' has \(ndim) dimensions, more than 64") }
            var shape: [Int] = []
            var elements = 1
            for _ in 0..<ndim {
                let d = try r.count("a dimension of '\(name)'", limit: Int(Int32.max))
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw r.error("the shape of '\(name)' overflows") }
                elements = product
                shape.append(d)
            }
            guard elements > 0 else { throw r.error("tensor '\(name)' has no elements") }
            let typeName = try r.string("type of '\(name)'")
            let unitRoundoff = try r.f64("unit roundoff of '\(name)'")
            guard unitRoundoff > 0 && unitRoundoff <= 1 else { throw r.error("unit roundoff of '\(name)' is \(unitRoundoff), not in (0, 1]") }
            let finite = try r.count("finite count of '\(name)'", limit: elements)
            let nonFinite = try r.count("non-finite count of '\(name)'", limit: elements)
            guard finite + nonFinite == elements else {
                throw r.error("tensor '\(name)': \(finite) + \(nonFinite) values counted for \(elements) elements")
            }
            let minimum = try r.f32("minimum"), maximum = try r.f32("maximum")
            let shift = try r.f64("shift")
            let sums = (try r.f64("sum 1"), try r.f64("sum 2"), try r.f64("sum 3"), try r.f64("sum 4"))
            let tensorHash = try r.u64("hash of '\(name)'")
            let kind = try r.u8("kind of '\(name)'")
            guard kind <= 2 else { throw r.error("tensor '\(name)' has kind \(kind), not 0, 1 or 2") }
            kinds.append(kind)
            tensors.append(Tensor(name: name, shape: shape, typeName: typeName, unitRoundoff: unitRoundoff,
                                  moments: Moments(count: finite, nonFinite: nonFinite, minimum: minimum, maximum: maximum,
                                                   shift: shift, sums: sums),
                                  hash: tensorHash, sketch: nil))
        }
        try r.finish()
        // The sketches must be those the rules make, so that any two signatures compare.
        let candidates = Self.distanceCandidates(tensors.map { ($0.name, $0.shape) })
        for (t, kind) in zip(tensors, kinds) {
            let expected: UInt8 = !candidates.contains(t.name) ? 0 : Self.keepsValues(count: t.count, p) ? 1 : 2
            guard kind == expected else {
                throw r.error("tensor '\(t.name)' has kind \(kind) where the rules give \(expected)")
            }
        }
        guard Self.modelHash(tensors) == hash else { throw r.error("the model hash does not match the tensors") }

        if let distances {
            var d = ByteReader(distances, what: "signature section DIST")
            for (k, kind) in kinds.enumerated() where kind != 0 {
                let t = tensors[k]
                tensors[k].sketch = kind == 1 ? .exact(try d.f32s(t.count, "values of '\(t.name)'"))
                    : .sketched(distance: try d.f64s(p.distanceBuckets, "distance sketch of '\(t.name)'"), rank: nil)
            }
            try d.finish()
        }
        if let ranks {
            guard distances != nil else { throw ModelTreeError.internal("rank sketches read without distance sketches") }
            var q = ByteReader(ranks, what: "signature section RANK")
            for (k, kind) in kinds.enumerated() where kind == 2 {
                let t = tensors[k]
                let plan = RankSketchPlan(name: t.name, shape: t.shape, parameters: p)
                let rows = Int(try q.u32("rank rows of '\(t.name)'")), columns = Int(try q.u32("rank columns of '\(t.name)'"))
                guard rows == plan.rows && columns == plan.columns else {
                    throw q.error("rank sketch of '\(t.name)' is \(rows) × \(columns), expected \(plan.rows) × \(plan.columns)")
                }
                let width = try q.u8("value size of '\(t.name)'")
                let values: [Double]
                switch width {
                case 4: values = try q.f32s(rows * columns, "rank sketch of '\(t.name)'").map { Double($0) }
                case 8: values = try q.f64s(rows * columns, "rank sketch of '\(t.name)'")
                default: throw q.error("rank sketch of '\(t.name)' has values of \(width) bytes, not 4 or 8")
                }
                guard case .sketched(let distance, _)? = tensors[k].sketch else { continue }
                tensors[k].sketch = .sketched(distance: distance, rank: RankSketch(rows: rows, columns: columns, values: values, single: width == 4))
            }
            try q.finish()
        }
        self.init(id: id, path: path, format: format, files: files, parameters: p, hash: hash, tensors: tensors)
    }
}
