import ModelTree

#if canImport(Glibc)
import Glibc
#endif

/// A hub's index of models: their signatures in one SQLite file, grouped into families, so that
/// a new model's parent is found in milliseconds from signatures alone and the whole Model Graph
/// is recovered without reading any weight again.
///
/// - `add` stores a model's signature (`ModelSignature`), finds its family — the models whose
///   weights correlate with its above 1/2, as `recover` links models into trees — through the
///   candidate search (`FamilySearch`: a coarse sketch compared with a few representatives per
///   family, then the distance sketches of the candidate families' members), and records the
///   statistics of its pairs with the family's members. One transaction: a process killed
///   meanwhile leaves the model fully in or fully out.
/// - `parent` solves the model's family (or the families a candidate would join) from the kept
///   statistics, as `recover` would solve them.
/// - `graph` recovers every family from the kept statistics: the same analysis as `recover`
///   (`RelationAnalysis`), on estimates of the same statistics.
///
/// Concurrency: SQLite in write-ahead-log mode; every write is one `BEGIN IMMEDIATE`
/// transaction, so any number of processes may add at once (each waits for the others up to the
/// busy timeout) and readers never wait. One `HubIndex` is used by one thread at a time.
///
/// The corresponding C functions are `modeltree_index_*`.
public final class HubIndex {
    /// How an index is opened.
    public struct Options: Sendable {
        /// The sketch sizes of a new index (an existing one keeps its own).
        public var parameters: ModelSignature.Parameters = .standard
        /// How long a write waits for another process's, in milliseconds.
        public var busyTimeout: Int = 60_000
        /// Threads to compute signatures with; nil: one per processor.
        public var threads: Int? = nil
        /// Recorded in a new index as the software that made it.
        public var createdBy: String = "libmodeltree"
        public init() {}
    }

    /// The index file.
    public let path: String
    /// The sketch sizes of every signature in it.
    public let parameters: ModelSignature.Parameters
    /// Threads that compute signatures (nil: one per processor).
    public let threads: Int?
    /// How long a write waits for another process's, in milliseconds.
    public let busyTimeout: Int
    let db: SQLiteConnection
    var search: FamilySearch

    /// Opens the index at `path`, making it when it does not exist (":memory:" keeps one in
    /// memory for the life of the object).
    /// - Throws: `.io` when it cannot be opened or made; `.format` for a file that is not an
    ///   index, or an index of a newer schema; `.invalidArgument` for bad options.
    public init(path: String, options: Options = Options()) throws {
        try options.parameters.validate()
        guard options.busyTimeout >= 0 else { throw ModelTreeError.invalidArgument("busy_timeout must be ≥ 0 ms, got \(options.busyTimeout)") }
        self.path = path
        db = try SQLiteConnection(path: path, create: true, busyTimeout: options.busyTimeout)
        parameters = try IndexSchema.prepare(db, parameters: options.parameters, createdBy: options.createdBy)
        threads = options.threads
        busyTimeout = options.busyTimeout
        search = FamilySearch()
    }

    /// Closes the file (idempotent; the object is unusable after).
    public func close() { db.close() }

    // MARK: Adding

    /// What an `add` did.
    public struct Added: Sendable, Equatable {
        /// The model's id in the index.
        public var id: String
        /// Models in its family after the add (itself included).
        public var familySize: Int
        /// Families it joined (0: it starts a family; more than 1: it linked them into one).
        public var joinedFamilies: Int
        /// Ids of models already indexed with the same weights (same content hash and sketches).
        public var duplicates: [String]
    }

    /// Computes the signature of `model` (one read of its weights) and adds it.
    @discardableResult
    public func add(model: Model) throws -> Added {
        try add(try ModelSignature.compute(model, parameters: parameters, threads: threads))
    }

    /// Adds a model by its signature, as `id` (default: the signature's).
    /// - Throws: `.invalidArgument` for an id already in the index, a signature of other
    ///   sketch sizes, or one read without its sketches; `.io` when the index cannot be written.
    @discardableResult
    public func add(_ signature: ModelSignature, id: String? = nil) throws -> Added {
        let sig = id.map(signature.renamed) ?? signature
        guard !sig.id.isEmpty else { throw ModelTreeError.invalidArgument("a model id is empty") }
        try checkComparable(sig)
        let sections = try sig.sections()
        let prepared = FamilySearch.Upload(sig)
        let (added, update) = try db.transaction(write: true) { () -> (Added, (id: Int64, family: Int64, representative: Bool, merged: [Int64])) in
            try search.refresh(db)
            guard try rowID(sig.id) == nil else {
                throw ModelTreeError.invalidArgument("model '\(sig.id)' is already in the index \(path)")
            }
            let found = try search.related(prepared, in: self)
            let family: Int64
            if let first = found.families.first {
                family = first.id
                for other in found.families.dropFirst() { try merge(other.id, into: family) }
                if found.families.count > 1 { try addCrossPairs(found.families) }
            } else {
                try db.run("INSERT INTO families(layout, tensors, version) VALUES(?, ?, 0)",
                           [.int(prepared.layout), .text(jsonArray(prepared.tensors))])
                family = db.lastRowID
            }
            let representative = found.families.isEmpty || found.bestRepresentativeScore < FamilySearch.representativeScore
            try db.run("""
                INSERT INTO models(name, path, format, files, hash, layout, family, coarse, representative, skipped, added)
                VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(sig.id), sig.path.map { .text($0) } ?? .null, .text(sig.format), .text(FileIdentity.json(sig.files)),
                      .int(Int64(bitPattern: sig.hash)), .int(prepared.layout), .int(family), .blob(floatBytes(prepared.coarse)),
                      .int(representative ? 1 : 0), .text(jsonArray(sig.nonFiniteTensors)), .double(now())])
            let id = db.lastRowID
            try db.run("INSERT INTO signatures(model, meta, dist, rank) VALUES(?, ?, ?, ?)",
                       [.int(id), .blob(sections[0]), .blob(sections[1]), .blob(sections[2])])
            for member in found.members {
                try insertPair(id, member.id, member.sums, member.statistics)
            }
            if found.families.count > 1 {
                try updateNeighbours(family: family)
            } else {
                try updateNeighbours(added: id, signature: sig, members: found.members)
            }
            try db.run("UPDATE families SET version = version + 1 WHERE id = ?", [.int(family)])
            try bumpGeneration()
            let size = try db.query("SELECT count(*) FROM models WHERE family = ?", [.int(family)]) { $0.int(0) }.first ?? 1
            return (Added(id: sig.id, familySize: Int(size), joinedFamilies: found.families.count,
                          duplicates: try duplicates(of: sig, excluding: id)),
                    (id, family, representative, found.families.dropFirst().map(\.id)))
        }
        // Committed: the search's cache learns the model (another process's commits reset it).
        search.added(id: update.id, family: update.family, layout: prepared.layout, coarse: prepared.coarse,
                     representative: update.representative, merged: update.merged)
        return added
    }

    /// Refuses a signature whose sketches do not compare with the index's.
    func checkComparable(_ sig: ModelSignature) throws {
        guard sig.parameters == parameters else {
            let p = sig.parameters, q = parameters
            throw ModelTreeError.invalidArgument("the signature of '\(sig.id)' was computed with other sketch sizes "
                + "(\(p.distanceBuckets)/\(p.coarseBuckets) buckets, rank \(p.rankRows)×\(p.rankColumns)×\(p.rankHits)) than the index "
                + "\(path) uses (\(q.distanceBuckets)/\(q.coarseBuckets), \(q.rankRows)×\(q.rankColumns)×\(q.rankHits)): compute it again for this index")
        }
    }

    // MARK: Removing, listing, verifying

    /// Removes model `id` and everything kept about it.
    /// - Throws: `.invalidArgument` when it is not in the index.
    public func remove(_ id: String) throws {
        try db.transaction(write: true) {
            try search.refresh(db)
            guard let row = try rowID(id) else { throw ModelTreeError.invalidArgument("no model '\(id)' in the index \(path)") }
            let family = try db.query("SELECT family FROM models WHERE id = ?", [.int(row)]) { $0.int(0) }.first!
            try db.run("DELETE FROM models WHERE id = ?", [.int(row)])
            let left = try db.query("SELECT id FROM models WHERE family = ? ORDER BY id", [.int(family)]) { $0.int(0) }
            if left.isEmpty {
                try db.run("DELETE FROM families WHERE id = ?", [.int(family)])
            } else {
                // A family without a representative could no longer be found: promote one.
                let hasRepresentative = try db.query("SELECT count(*) FROM models WHERE family = ? AND representative",
                                                     [.int(family)]) { $0.int(0) }.first ?? 0
                if hasRepresentative == 0 {
                    try db.run("UPDATE models SET representative = 1 WHERE id = ?", [.int(left[0])])
                }
                try updateNeighbours(family: family)
                try db.run("UPDATE families SET version = version + 1 WHERE id = ?", [.int(family)])
            }
            try bumpGeneration()
            search.invalidate()
        }
    }

    /// One indexed model.
    public struct Entry: Sendable, Equatable {
        public var id: String
        public var path: String?
        public var format: String
        /// The family's number in the index (models compared with one another share it).
        public var family: Int64
        /// Seconds since the epoch when it was added.
        public var added: Double
        /// Bytes of its signature.
        public var signatureBytes: Int
    }

    /// Every indexed model, by id.
    public func list() throws -> [Entry] {
        try db.transaction(write: false) {
            try db.query("""
                SELECT m.name, m.path, m.format, m.family, m.added, length(s.meta) + length(s.dist) + length(s.rank)
                FROM models m JOIN signatures s ON s.model = m.id ORDER BY m.name
                """) {
                Entry(id: $0.text(0) ?? "", path: $0.isNull(1) ? nil : $0.text(1), format: $0.text(2) ?? "",
                      family: $0.int(3), added: $0.double(4), signatureBytes: Int($0.int(5)) + 16)
            }
        }
    }

    /// Whether model `id` is indexed.
    public func contains(_ id: String) throws -> Bool { try rowID(id) != nil }

    /// The number of indexed models.
    public func count() throws -> Int {
        Int(try db.query("SELECT count(*) FROM models") { $0.int(0) }.first ?? 0)
    }

    /// What `verify` found for one model.
    public struct Verified: Sendable, Equatable {
        public enum State: String, Sendable { case unchanged, changed, missing, memory }
        public var id: String
        public var path: String?
        public var state: State
        /// What changed, per file ("model.safetensors: size changed from 1024 to 2048 bytes").
        public var detail: String
    }

    /// Which indexed models' files changed or vanished since they were added (their weights
    /// may no longer be what the signature says), after checking the index file itself
    /// (`PRAGMA quick_check` and the consistency of its tables).
    /// - Throws: `.format` when the index file is damaged.
    public func verify() throws -> [Verified] {
        try db.transaction(write: false) {
            let problems = try db.query("PRAGMA quick_check") { $0.text(0) ?? "" }.filter { $0 != "ok" }
            guard problems.isEmpty else {
                throw ModelTreeError.format("index \(path) is damaged: \(problems.prefix(3).joined(separator: "; "))")
            }
            try checkConsistency()
            return try db.query("SELECT name, path, format, files FROM models ORDER BY name") { row -> Verified in
                let id = row.text(0) ?? "", path = row.isNull(1) ? nil : row.text(1)
                let files = try FileIdentity.parse(json: row.text(3) ?? "[]")
                if files.isEmpty { return Verified(id: id, path: path, state: .memory, detail: "given from memory: no file to check") }
                var changes: [String] = [], missing = 0
                for f in files {
                    guard let change = f.change() else { continue }
                    if change == "vanished" { missing += 1 }
                    changes.append("\(f.path): \(change)")
                }
                let state: Verified.State = changes.isEmpty ? .unchanged : missing == files.count ? .missing : .changed
                return Verified(id: id, path: path, state: state, detail: changes.joined(separator: "; "))
            }
        }
    }

    /// Refuses an index whose tables disagree (a row edited or damaged outside this library).
    func checkConsistency() throws {
        let checks: [(String, String)] = [
            ("SELECT count(*) FROM models m LEFT JOIN signatures s ON s.model = m.id WHERE s.model IS NULL", "models without a signature"),
            ("SELECT count(*) FROM models m LEFT JOIN families f ON f.id = m.family WHERE f.id IS NULL", "models of no family"),
            ("SELECT count(*) FROM families f WHERE NOT EXISTS (SELECT 1 FROM models m WHERE m.family = f.id)", "empty families"),
            ("SELECT count(*) FROM pairs p JOIN models x ON x.id = p.a JOIN models y ON y.id = p.b WHERE x.family != y.family",
             "pairs across families"),
        ]
        for (sql, what) in checks {
            let n = try db.query(sql) { $0.int(0) }.first ?? 0
            guard n == 0 else { throw ModelTreeError.format("index \(path) is inconsistent: \(n) \(what)") }
        }
    }

    /// The signature of indexed model `id`, as it was added (for export to another index).
    public func signature(of id: String) throws -> ModelSignature {
        try db.transaction(write: false) {
            guard let row = try rowID(id) else { throw ModelTreeError.invalidArgument("no model '\(id)' in the index \(path)") }
            return try loadSignature(row, distances: true, ranks: true)
        }
    }

    // MARK: Rows

    func rowID(_ name: String) throws -> Int64? {
        try db.query("SELECT id FROM models WHERE name = ?", [.text(name)]) { $0.int(0) }.first
    }

    /// A stored signature: META always, DIST and RANK when asked.
    func loadSignature(_ row: Int64, distances: Bool, ranks: Bool) throws -> ModelSignature {
        let columns = "meta" + (distances ? ", dist" : "") + (ranks ? ", rank" : "")
        return try db.withStatement("SELECT \(columns) FROM signatures WHERE model = ?", [.int(row)]) { s in
            guard try s.step() else { throw ModelTreeError.format("index \(path): model \(row) has no signature") }
            let what = "index \(path): signature of model \(row)"
            return try s.withBlob(0) { meta in
                try s.withBlob(distances ? 1 : 0) { dist in
                    try s.withBlob(ranks ? 2 : 0) { rank in
                        try ModelSignature(meta: try ModelSignature.sectionPayload(meta, "META", what: what),
                                           distances: distances ? try ModelSignature.sectionPayload(dist, "DIST", what: what) : nil,
                                           ranks: ranks ? try ModelSignature.sectionPayload(rank, "RANK", what: what) : nil)
                    }
                }
            }
        }
    }

    func insertPair(_ x: Int64, _ y: Int64, _ sums: [Double], _ statistics: (rms: Double, correlation: Double)) throws {
        let (a, b) = x < y ? (x, y) : (y, x)
        try db.run("INSERT INTO pairs(a, b, sums, rms, correlation) VALUES(?, ?, ?, ?, ?)",
                   [.int(a), .int(b), .blob(doubleBytes(sums)), .double(statistics.rms), .double(statistics.correlation)])
    }

    /// Moves every model of family `other` into `family` (a new model linked them).
    private func merge(_ other: Int64, into family: Int64) throws {
        try db.run("UPDATE models SET family = ? WHERE family = ?", [.int(family), .int(other)])
        try db.run("DELETE FROM families WHERE id = ?", [.int(other)])
    }

    /// The pairs between members of different families now merged, from their sketches.
    private func addCrossPairs(_ families: [FamilySearch.Found.Family]) throws {
        for i in 0..<families.count {
            for j in (i + 1)..<families.count {
                for a in families[i].members {
                    for b in families[j].members {
                        let sums = ModelSignature.squaredDifferences(a.signature, b.signature, tensors: families[i].tensors)
                        try insertPair(a.id, b.id, sums,
                                       ModelSignature.pairStatistics(a.signature, b.signature, tensors: families[i].tensors, sums: sums))
                    }
                }
            }
        }
    }

    /// Indexed models with the same content hash as `sig` and the same distance sketches (the
    /// hash is not proof against forged collisions; equal sketches of every tensor are).
    func duplicates(of sig: ModelSignature, excluding row: Int64?) throws -> [String] {
        let distances = sig.distanceSection()
        return try db.query("""
            SELECT m.name, s.dist FROM models m JOIN signatures s ON s.model = m.id WHERE m.hash = ? AND m.id != ? ORDER BY m.name
            """, [.int(Int64(bitPattern: sig.hash)), .int(row ?? -1)]) { ($0.text(0) ?? "", $0.blob(1)) }
            .filter { $0.1 == distances }.map(\.0)
    }

    func bumpGeneration() throws {
        try db.run("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    }

    private func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}

// MARK: Encodings of the blob and JSON columns

func floatBytes(_ v: [Float]) -> [UInt8] {
    var out = [UInt8](); out.reserveCapacity(v.count * 4)
    for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { out += $0 } }
    return out
}

func floats(_ b: UnsafeRawBufferPointer) -> [Float] {
    (0..<(b.count / 4)).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
}

func doubleBytes(_ v: [Double]) -> [UInt8] {
    var out = [UInt8](); out.reserveCapacity(v.count * 8)
    for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { out += $0 } }
    return out
}

func doubles(_ b: [UInt8]) -> [Double] {
    b.withUnsafeBytes { p in (0..<(b.count / 8)).map { Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) } }
}

func int32Bytes(_ v: [Int]) -> [UInt8] {
    var out = [UInt8](); out.reserveCapacity(v.count * 4)
    for x in v { withUnsafeBytes(of: UInt32(clamping: x).littleEndian) { out += $0 } }
    return out
}

func int32s(_ b: [UInt8]) -> [Int] {
    b.withUnsafeBytes { p in (0..<(b.count / 4)).map { Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
}

func jsonArray(_ strings: [String]) -> String {
    "[" + strings.map(Formatting.jsonString).joined(separator: ", ") + "]"
}

func parseStringArray(_ text: String) throws -> [String] {
    guard case .array(let items) = try JSONParser.parse(text) else { throw ModelTreeError.format("index: expected a JSON array of strings") }
    return try items.map {
        guard case .string(let s) = $0 else { throw ModelTreeError.format("index: expected a JSON array of strings") }
        return s
    }
}
