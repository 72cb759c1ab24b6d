import CSQLite
import Foundation

/// A failed SQLite call, with SQLite's own message and the statement that failed.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String
    /// SQLite's extended result code (`sqlite3_extended_errcode`), 0 when not known.
    public var extendedCode: Int32 = 0

    public var description: String { "SQLite error \(code): \(message)" }

    /// The file is not a database, or its pages do not hold together (`SQLITE_NOTADB`,
    /// `SQLITE_CORRUPT` and its extended codes): trying again cannot succeed.
    public var isDamage: Bool { code & 0xFF == SQLITE_CORRUPT || code & 0xFF == SQLITE_NOTADB }

    /// A write the disk refused: full (`SQLITE_FULL`), or a write, sync or resize that failed
    /// (`SQLITE_IOERR_WRITE` — what a write past a file size limit becomes — `_FSYNC`,
    /// `_DIR_FSYNC`, `_TRUNCATE`, `_SHMSIZE`). It may pass once space is freed; the data
    /// already stored is intact. A failed read is not one of these.
    public var isWriteRefused: Bool {
        code & 0xFF == SQLITE_FULL || Self.refusedWrites.contains(extendedCode)
    }

    private static let refusedWrites: Set<Int32> = Set([3, 4, 5, 6, 19].map { SQLITE_IOERR | ($0 << 8) })

    /// The connection was closed under its user: its day file was moved aside as damaged (`SQLiteDatabase.close`).
    public var isClosedConnection: Bool { code == SQLITE_MISUSE && message == Self.closedMessage }

    static let closedMessage = "this day file was found damaged and moved aside; ask again"
}

/// A thin wrapper over one SQLite connection: prepared statements cached by SQL text,
/// typed binds and reads. Not thread-safe; its owner serialises access.
final class SQLiteDatabase {
    private var handle: OpaquePointer?
    private var statements: [String: Statement] = [:]

    init(path: String) throws {
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(handle)
            throw SQLiteError(code: status, message: "\(message) (\(path))")
        }
        sqlite3_busy_timeout(handle, 5000)
    }

    deinit { close() }

    /// Closes the connection now, finalizing its statements; any later use throws. A day file
    /// moved aside is closed first: the last connection to close a WAL database deletes the
    /// `-wal` and `-shm` by name, and after a rename those names are the new file's.
    func close() {
        statements.values.forEach { sqlite3_finalize($0.handle) }
        statements = [:]
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    private func open() throws -> OpaquePointer {
        guard let handle else {
            throw SQLiteError(code: SQLITE_MISUSE, message: SQLiteError.closedMessage)
        }
        return handle
    }

    func execute(_ sql: String) throws {
        let handle = try open()
        var error: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &error)
        if status != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? "unknown"
            sqlite3_free(error)
            throw SQLiteError(code: status, message: message, extendedCode: sqlite3_extended_errcode(handle))
        }
    }

    /// The first column of the first row of `sql` as an integer (a count, a pragma's value).
    func integer(_ sql: String) throws -> Int {
        let statement = try self.statement(sql)
        defer { statement.reset() }
        guard try statement.step() else { return 0 }
        return statement.int(0)
    }

    /// A cached prepared statement, reset and with bindings cleared.
    func statement(_ sql: String) throws -> Statement {
        if let cached = statements[sql] {
            sqlite3_reset(cached.handle)
            sqlite3_clear_bindings(cached.handle)
            return cached
        }
        let handle = try open()
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else { throw lastError(status) }
        let wrapped = Statement(handle: statement, database: self)
        statements[sql] = wrapped
        return wrapped
    }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    var changes: Int { handle.map { Int(sqlite3_changes($0)) } ?? 0 }
    var lastInsertRowID: Int64 { handle.map { sqlite3_last_insert_rowid($0) } ?? 0 }

    func lastError(_ status: Int32) -> SQLiteError {
        SQLiteError(
            code: status, message: handle.map { String(cString: sqlite3_errmsg($0)) } ?? "closed",
            extendedCode: handle.map { sqlite3_extended_errcode($0) } ?? 0)
    }
}

/// One prepared statement. Binds are 1-based, columns 0-based, as in SQLite's C API.
final class Statement {
    let handle: OpaquePointer
    unowned let database: SQLiteDatabase

    init(handle: OpaquePointer, database: SQLiteDatabase) {
        self.handle = handle
        self.database = database
    }

    @discardableResult
    func bind(_ index: Int32, _ value: Int64) -> Statement {
        sqlite3_bind_int64(handle, index, value)
        return self
    }

    @discardableResult
    func bind(_ index: Int32, _ value: UInt64) -> Statement {
        sqlite3_bind_int64(handle, index, Int64(bitPattern: value))
        return self
    }

    @discardableResult
    func bind(_ index: Int32, _ value: Int) -> Statement { bind(index, Int64(value)) }

    @discardableResult
    func bind(_ index: Int32, _ value: Double) -> Statement {
        sqlite3_bind_double(handle, index, value)
        return self
    }

    /// Binds the text by its byte count, not up to a NUL: U+0000 is valid UTF-8 that any client may
    /// send, and a name cut at it would collide with a shorter one (a unique index then refuses it).
    @discardableResult
    func bind(_ index: Int32, _ value: String) -> Statement {
        var value = value
        value.withUTF8 { utf8 in
            // An empty buffer may have no address, and a null pointer would bind NULL, not "".
            let address = utf8.baseAddress ?? ("" as StaticString).utf8Start
            _ = address.withMemoryRebound(to: CChar.self, capacity: max(utf8.count, 1)) {
                sqlite3_bind_text64(handle, index, $0, sqlite3_uint64(utf8.count), SQLITE_TRANSIENT, UInt8(SQLITE_UTF8))
            }
        }
        return self
    }

    @discardableResult
    func bind(_ index: Int32, blob: [UInt8]?) -> Statement {
        guard let blob else {
            sqlite3_bind_null(handle, index)
            return self
        }
        _ = blob.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count), SQLITE_TRANSIENT) }
        return self
    }

    @discardableResult
    func bindNull(_ index: Int32) -> Statement {
        sqlite3_bind_null(handle, index)
        return self
    }

    /// Steps a statement that returns no rows.
    func run() throws {
        let status = sqlite3_step(handle)
        guard status == SQLITE_DONE || status == SQLITE_ROW else { throw database.lastError(status) }
        sqlite3_reset(handle)
    }

    /// Steps to the next row; `false` when there are no more.
    func step() throws -> Bool {
        let status = sqlite3_step(handle)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE:
            sqlite3_reset(handle)
            return false
        default: throw database.lastError(status)
        }
    }

    /// Ends iteration early, releasing the statement's read snapshot.
    func reset() {
        sqlite3_reset(handle)
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    func uint64(_ column: Int32) -> UInt64 { UInt64(bitPattern: sqlite3_column_int64(handle, column)) }
    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    /// The column's text by its byte count (it may hold U+0000; see `bind(_:_:)`).
    func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, column))), as: UTF8.self)
    }

    /// The column's bytes without a copy, valid only inside `body` (until the next step).
    func withBlob<T>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

/// SQLite's "copy the bound value now" destructor constant, which the C macro hides from Swift.
let SQLITE_TRANSIENT = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
