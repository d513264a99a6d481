// The one place the index calls SQLite: a connection with its prepared statements, typed binds
// and reads, transactions, and the mapping of SQLite's result codes to `ModelTreeError`.
import CSQLite
import Glibc
import ModelTree

/// SQLite's destructor constant that makes it copy bound text and blobs.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection. Used by one thread at a time (its owner, a `HubIndex`), so SQLite is
/// opened without its own mutexes.
final class SQLiteConnection {
    private var db: OpaquePointer?
    /// The database's path, for messages.
    let path: String
    /// How long a statement waits for another connection's lock, in milliseconds.
    let busyTimeout: Int
    private var statements: [String: OpaquePointer] = [:]

    /// Opens (creating when asked) the database at `path`.
    /// - Throws: `.io` when it cannot be opened.
    init(path: String, create: Bool, busyTimeout: Int) throws {
        self.path = path
        self.busyTimeout = busyTimeout
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        db = handle
        guard rc == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            db = nil
            throw ModelTreeError.io("index \(path): cannot open (\(message))")
        }
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, Int32(clamping: busyTimeout))
    }

    deinit { close() }

    /// Finalizes the statements and closes the connection (idempotent).
    func close() {
        for (_, s) in statements { sqlite3_finalize(s) }
        statements = [:]
        if let db { sqlite3_close_v2(db) }
        db = nil
    }

    /// The error of result code `rc`, with SQLite's message, as the library's kind.
    func error(_ rc: Int32, _ doing: String) -> ModelTreeError {
        let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
        let what = "index \(path): \(doing): \(message)"
        switch rc & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED:
            return .io(what + " (another process held the index longer than the busy timeout)")
        case SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_FORMAT:
            return .format(what)
        case SQLITE_NOMEM:
            return .outOfMemory(what)
        case SQLITE_CANTOPEN, SQLITE_IOERR, SQLITE_FULL, SQLITE_READONLY, SQLITE_PERM, SQLITE_PROTOCOL:
            return .io(what)
        case SQLITE_CONSTRAINT:
            return .invalidArgument(what)
        default:
            return .internal(what)
        }
    }

    /// Puts the database in write-ahead-log mode and returns the journal mode it is in.
    /// Switching a new database reads its header and then writes it: when several processes open
    /// a new index at once, SQLite answers BUSY at once instead of calling the busy handler
    /// (two readers both waiting to write would deadlock), so this retries, up to the busy timeout.
    func enableWriteAheadLog() throws -> String {
        var waited = 0
        while true {
            var s: OpaquePointer?
            var rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &s, nil)
            var mode = ""
            if rc == SQLITE_OK {
                rc = sqlite3_step(s)
                if rc == SQLITE_ROW {
                    mode = sqlite3_column_text(s, 0).map { String(cString: $0) } ?? ""
                    rc = SQLITE_OK
                }
            }
            sqlite3_finalize(s)
            if rc == SQLITE_OK { return mode }
            let busy = rc & 0xFF == SQLITE_BUSY || rc & 0xFF == SQLITE_LOCKED
            guard busy, waited < busyTimeout else { throw error(rc, "switching to write-ahead logging") }
            usleep(2_000)
            waited += 2
        }
    }

    /// Runs statements without results (schema, pragmas).
    func execute(_ sql: String) throws {
        let rc = sqlite3_exec(db, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(rc, "executing \(sql.prefix(40))…") }
    }

    /// A prepared statement for `sql`, reset and cleared, cached for the connection's life.
    func statement(_ sql: String) throws -> Statement {
        if let s = statements[sql] {
            sqlite3_reset(s)
            sqlite3_clear_bindings(s)
            return Statement(s, self)
        }
        var s: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &s, nil)
        guard rc == SQLITE_OK, let s else { throw error(rc, "preparing \(sql.prefix(60))…") }
        statements[sql] = s
        return Statement(s, self)
    }

    /// Runs `sql` with `values` bound, to completion.
    func run(_ sql: String, _ values: [SQLValue] = []) throws {
        try withStatement(sql, values) { s in while try s.step() {} }
    }

    /// The rows of `sql` with `values` bound, each read by `row`.
    func query<T>(_ sql: String, _ values: [SQLValue] = [], _ row: (Statement) throws -> T) throws -> [T] {
        try withStatement(sql, values) { s in
            var out: [T] = []
            while try s.step() { out.append(try row(s)) }
            return out
        }
    }

    /// Runs `body` with the statement of `sql` bound to `values`, and resets it after: a statement
    /// left mid-way would keep a read transaction open, and a later `BEGIN IMMEDIATE` of this
    /// connection would then fail at once instead of waiting for other writers.
    func withStatement<T>(_ sql: String, _ values: [SQLValue], _ body: (Statement) throws -> T) throws -> T {
        let s = try statement(sql)
        defer { sqlite3_reset(s.handle) }
        try s.bind(values)
        return try body(s)
    }

    /// The rowid of the last insert.
    var lastRowID: Int64 { sqlite3_last_insert_rowid(db) }

    /// `PRAGMA data_version`: changes when another connection commits (the caches' key).
    func dataVersion() throws -> Int64 {
        try query("PRAGMA data_version") { $0.int(0) }.first ?? 0
    }

    /// Runs `body` in a transaction: `BEGIN IMMEDIATE` (the write lock at once, waiting up to the
    /// busy timeout) for a writer, a deferred one for a reader; commits when `body` returns,
    /// rolls back when it throws. A process killed meanwhile leaves the database as it was
    /// before (SQLite's journal).
    func transaction<T>(write: Bool, _ body: () throws -> T) throws -> T {
        try execute(write ? "BEGIN IMMEDIATE" : "BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            _ = sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
            throw error
        }
    }
}

/// A value to bind.
enum SQLValue {
    case int(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])
    case null
}

/// A prepared statement of a connection, borrowed for one use.
struct Statement {
    let handle: OpaquePointer
    let connection: SQLiteConnection

    init(_ handle: OpaquePointer, _ connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    func bind(_ values: [SQLValue]) throws {
        for (k, v) in values.enumerated() {
            let i = Int32(k + 1)
            let rc: Int32
            switch v {
            case .int(let x): rc = sqlite3_bind_int64(handle, i, x)
            case .double(let x): rc = sqlite3_bind_double(handle, i, x)
            case .text(let s): rc = sqlite3_bind_text(handle, i, s, -1, transient)
            case .blob(let b):
                rc = b.withUnsafeBytes { sqlite3_bind_blob64(handle, i, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 8), UInt64($0.count), transient) }
            case .null: rc = sqlite3_bind_null(handle, i)
            }
            guard rc == SQLITE_OK else { throw connection.error(rc, "binding a value") }
        }
    }

    /// Advances; true while there is a row.
    func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw connection.error(rc, "running \(String(cString: sqlite3_sql(handle)).prefix(60))…")
    }

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    func text(_ column: Int32) -> String? {
        guard let p = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: p)
    }
    /// The bytes of a blob column (valid until the next step), as a copy.
    func blob(_ column: Int32) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(handle, column))
        guard n > 0, let p = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
    /// Reads a blob column in place (valid for the call).
    func withBlob<T>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let p = sqlite3_column_blob(handle, column)
        let n = Int(sqlite3_column_bytes(handle, column))
        return try body(UnsafeRawBufferPointer(start: n > 0 ? p : nil, count: n))
    }
}
