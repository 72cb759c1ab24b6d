import NIOConcurrencyHelpers

/// A SQLite connection and the lock that gives one thread at a time the use of it.
///
/// A connection is held for a whole transaction, encoding and `fdatasync` included, so waiters
/// are the rule under concurrent ingest. `Mutex` is a priority-inheritance futex on Linux whose
/// waiters spin in the kernel while the holder runs: that spinning was ~5 % of the collector's
/// CPU under two services' load (`perf record -g` on the collector during `periscope-load`).
/// A `pthread_mutex` waiter sleeps instead.
final class ConnectionLock: @unchecked Sendable {
    private let lock = NIOLock()
    private let connection: SQLiteDatabase

    init(_ connection: SQLiteDatabase) {
        self.connection = connection
    }

    /// Runs `body` with the connection, holding the lock until it returns.
    /// `sending` keeps the connection (or a statement of it) from leaving through the result.
    func withLock<Result, Failure: Error>(_ body: (SQLiteDatabase) throws(Failure) -> sending Result) throws(Failure) -> sending Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(connection)
    }
}
