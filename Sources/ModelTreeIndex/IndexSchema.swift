// The index's tables, version 1, and the checks that a file is an index this library reads.
import ModelTree

enum IndexSchema {
    /// `PRAGMA application_id` of an index: "MTIX".
    static let applicationID: Int64 = 0x4D54_4958
    /// `PRAGMA user_version`: the schema version this library writes and reads.
    static let version: Int64 = 1

    /// Every table. Integers are SQLite's (64-bit, any machine); blobs are the signature's own
    /// little-endian sections and vectors, so an index file copied to another machine opens.
    static let tables = """
        -- Settings: the schema, the library that made it, the sketch sizes every signature shares.
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        -- One row per model.
        CREATE TABLE models(
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,          -- the model id
            path TEXT,                          -- where it was read (NULL: caller memory)
            format TEXT NOT NULL,               -- the reader ("safetensors", "memory", …)
            files TEXT NOT NULL,                -- JSON: identities of the files read, for verify
            claims TEXT NOT NULL DEFAULT '[]',  -- JSON: what model cards claim (readers fill it)
            hash INTEGER NOT NULL,              -- content hash of the weights (duplicates)
            layout INTEGER NOT NULL,            -- hash of the distance tensors' names and shapes
            family INTEGER NOT NULL,            -- the family (models compared with one another)
            coarse BLOB NOT NULL,               -- f32 unit vector of the candidate search
            representative INTEGER NOT NULL,    -- 1: compared with uploads for its family
            skipped TEXT NOT NULL,              -- JSON: tensors with non-finite values
            neighbour INTEGER,                  -- nearest family member (RMS), NULL when alone
            neighbour_rms REAL,
            neighbour_low INTEGER,              -- 1: that difference is low-rank in every tensor
            neighbour_nonzero INTEGER,          -- 1: and not zero
            added REAL NOT NULL                 -- seconds since the epoch
        );
        CREATE INDEX models_family ON models(family);
        CREATE INDEX models_hash ON models(hash);
        CREATE INDEX models_representatives ON models(layout) WHERE representative;
        -- The signature's sections (with their checksums), as its byte format holds them.
        CREATE TABLE signatures(
            model INTEGER PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
            meta BLOB NOT NULL, dist BLOB NOT NULL, rank BLOB NOT NULL
        );
        -- Families: models related by their weights (correlation above 1/2, single linkage).
        CREATE TABLE families(
            id INTEGER PRIMARY KEY,
            layout INTEGER NOT NULL,
            tensors TEXT NOT NULL,              -- JSON: the tensors of the pairs' sums, in order
            version INTEGER NOT NULL            -- bumped by every change of its members
        );
        -- Pairs of family members (a < b): Σ (W_a − W_b)² per tensor of the family (f64), the
        -- RMS distance and correlation they give, and the ranks of W_a − W_b per tensor (u32)
        -- once computed.
        CREATE TABLE pairs(
            a INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
            b INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
            sums BLOB NOT NULL,
            rms REAL NOT NULL,
            correlation REAL NOT NULL,
            ranks BLOB,
            PRIMARY KEY(a, b)
        ) WITHOUT ROWID;
        CREATE INDEX pairs_b ON pairs(b);
        -- The recovered graph: the edge into each model, from the last graph of its family.
        CREATE TABLE edges(
            child INTEGER PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
            parent INTEGER REFERENCES models(id) ON DELETE CASCADE,
            type TEXT NOT NULL, distance REAL NOT NULL, confidence REAL NOT NULL, unsure INTEGER NOT NULL,
            family INTEGER NOT NULL, family_version INTEGER NOT NULL
        );
        """

    /// Makes a new index's tables in `db` (empty), or checks an existing one.
    /// - Returns: the sketch parameters of the index (those given, for a new one).
    /// - Throws: `.format` for a file that is not an index or of another schema version.
    static func prepare(_ db: SQLiteConnection, parameters: ModelSignature.Parameters, createdBy: String) throws -> ModelSignature.Parameters {
        // WAL: readers never block the writer, one file plus its -wal and -shm companions while
        // open; NORMAL synchronisation is safe against a killed process (a power loss may lose
        // the last commits, never consistency).
        let mode = try db.enableWriteAheadLog()
        guard mode == "wal" || mode == "memory" else {
            throw ModelTreeError.io("index \(db.path): cannot use write-ahead logging (journal mode \(mode))")
        }
        try db.execute("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON")
        return try db.transaction(write: true) {
            let application = try db.query("PRAGMA application_id") { $0.int(0) }.first ?? 0
            let schema = try db.query("PRAGMA user_version") { $0.int(0) }.first ?? 0
            let tableCount = try db.query("SELECT count(*) FROM sqlite_master") { $0.int(0) }.first ?? 0
            if application == 0 && schema == 0 && tableCount == 0 {
                try db.execute(tables)
                try db.execute("PRAGMA application_id=\(applicationID); PRAGMA user_version=\(Self.version)")
                let settings: [(String, String)] = [
                    ("schema", String(Self.version)), ("created_by", createdBy),
                    ("distance_buckets", String(parameters.distanceBuckets)), ("coarse_buckets", String(parameters.coarseBuckets)),
                    ("rank_rows", String(parameters.rankRows)), ("rank_columns", String(parameters.rankColumns)),
                    ("rank_hits", String(parameters.rankHits)), ("generation", "0"),
                ]
                for (k, v) in settings { try db.run("INSERT INTO meta(key, value) VALUES(?, ?)", [.text(k), .text(v)]) }
                return parameters
            }
            guard application == applicationID else {
                throw ModelTreeError.format("\(db.path): not a model index (an SQLite database of another application)")
            }
            guard schema == Self.version else {
                throw ModelTreeError.format(schema > Self.version
                    ? "\(db.path): index schema version \(schema) is newer than this library reads (\(Self.version)): update libmodeltree"
                    : "\(db.path): index schema version \(schema) is not one this library reads (\(Self.version))")
            }
            var settings: [String: String] = [:]
            for (k, v) in try db.query("SELECT key, value FROM meta", [], { ($0.text(0) ?? "", $0.text(1) ?? "") }) { settings[k] = v }
            func number(_ key: String) throws -> Int {
                guard let v = settings[key].flatMap({ Int($0) }) else {
                    throw ModelTreeError.format("\(db.path): the index's setting '\(key)' is missing or not a number")
                }
                return v
            }
            let stored = ModelSignature.Parameters(distanceBuckets: try number("distance_buckets"), coarseBuckets: try number("coarse_buckets"),
                                                   rankRows: try number("rank_rows"), rankColumns: try number("rank_columns"),
                                                   rankHits: try number("rank_hits"))
            do { try stored.validate() } catch let e as ModelTreeError { throw ModelTreeError.format("\(db.path): \(e.message)") }
            return stored
        }
    }
}
