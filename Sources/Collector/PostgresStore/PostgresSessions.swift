import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import PeriscopeDelivery
import Synchronization

/// A fixed number of connections to the PostgreSQL store, used from blocking threads (the
/// store's callers run off the cooperative pool, as with SQLite): each call waits for its
/// answer on a SwiftNIO event loop. A connection that broke is replaced on next use; one that
/// is busy makes the next caller wait.
final class PostgresSessions: Sendable {
    let location: PostgresLocation
    private let configuration: PostgresConnection.Configuration
    private let idle = Mutex<[PostgresConnection]>([])
    private let slots: DispatchSemaphore
    private let nextID = Atomic<Int>(1)
    private let logger: Logger
    /// How long a statement's answer is waited for before its connection is closed and the
    /// statement fails as unreachable (SQLSTATE 08006); nil: as long as the server lets it run
    /// (`statement_timeout`). With it, the server's `statement_timeout` is five sixths of it, so
    /// a server that is alive ends a slow statement itself (57014) before the collector gives
    /// up on it; a connection's start waits at most `startTimeout`. Set for a replica, whose
    /// silence (a stopped or cut-off host keeps the connection open and never answers) would
    /// otherwise hold a read for ever.
    let answerTimeout: Duration?
    static let startTimeout = Duration.seconds(5)

    init(location: PostgresLocation, size: Int, answerTimeout: Duration? = nil, logger: Logger) throws {
        self.location = location
        configuration = try location.configuration(statementTimeout: answerTimeout.map { $0 * 5 / 6 })
        slots = DispatchSemaphore(value: max(1, size))
        self.answerTimeout = answerTimeout
        self.logger = logger
    }

    /// Whether the server answers `SELECT 1` on a new connection (apart from the pool, whose idle
    /// connections may be stale) within `startTimeout` each for the start and the answer.
    func probe() -> Bool {
        guard let connection = try? connect(within: Self.startTimeout) else { return false }
        defer { Self.closeLater(connection) }
        let session = PostgresSession(connection: connection, answerTimeout: Self.startTimeout, logger: logger)
        return (try? session.query("SELECT 1", "probing")) != nil
    }

    /// Closes `connection` without waiting for it to close, keeping it until it has (PostgresNIO
    /// requires a connection to be closed before it goes).
    static func closeLater(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        closing.whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    /// `future`'s value, or nil when it has none within `timeout` (the future is left to finish).
    static func wait<T: Sendable>(for future: EventLoopFuture<T>, within timeout: Duration) throws -> T? {
        let done = DispatchSemaphore(value: 0)
        future.whenComplete { _ in done.signal() }
        guard done.wait(timeout: .now() + .nanoseconds(Int(clamping: timeout.wholeNanoseconds))) == .success else { return nil }
        return try future.wait()
    }

    deinit {
        for connection in idle.withLock({ $0 }) {
            _ = try? connection.close().wait()
        }
    }

    /// Threads inside `withSession` (a second, nested call would wait for a slot it holds).
    private let holders = Mutex<Set<UInt64>>([])

    /// Runs `body` with a connection of its own. Never nested: code that already has a session
    /// passes it on.
    /// `admitted`, asked once a connection is free, can still send the caller elsewhere (a read
    /// that waited for a replica found down meanwhile): it then fails as `unreachable`.
    func withSession<T>(admitted: (() -> Bool)? = nil, _ body: (PostgresSession) throws -> T) throws -> T {
        let thread = Self.currentThread
        let nested = holders.withLock { !$0.insert(thread).inserted }
        precondition(!nested, "PostgresSessions.withSession nested on one thread: pass the session on instead")
        defer { holders.withLock { _ = $0.remove(thread) } }
        slots.wait()
        defer { slots.signal() }
        if let admitted, !admitted() {
            throw PostgresStoreError.unreachable(location: location.description, reason: "found down while this read waited for a connection")
        }
        var connection = idle.withLock { $0.popLast() }
        if let existing = connection, existing.isClosed { connection = nil }
        let session = PostgresSession(connection: try connection ?? connect(), answerTimeout: answerTimeout, logger: logger)
        defer {
            if session.isUsable {
                idle.withLock { $0.append(session.connection) }
            } else if answerTimeout != nil {
                // A silent server's TLS close waits for its answer: not this caller.
                Self.closeLater(session.connection)
            } else {
                _ = try? session.connection.close().wait()
            }
        }
        return try body(session)
    }

    private static var currentThread: UInt64 {
        #if canImport(Glibc)
        UInt64(pthread_self())
        #else
        UInt64(UInt(bitPattern: pthread_self()))
        #endif
    }

    private func connect(within limit: Duration? = nil) throws -> PostgresConnection {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        do {
            let started = PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: id, logger: logger)
            guard let limit = limit ?? answerTimeout.map({ min($0, Self.startTimeout) }) else { return try started.wait() }
            guard let connection = try Self.wait(for: started, within: limit) else {
                started.whenSuccess { Self.closeLater($0) }
                throw PostgresStoreError.unreachable(location: location.description, reason: "no answer within \(limit) (the server is stopped, overloaded or cut off)")
            }
            return connection
        } catch let error as PostgresStoreError {
            throw error
        } catch {
            let reason = PostgresStoreError.from(error, what: "connecting")
            if case .statement(_, let message, _) = reason {
                throw PostgresStoreError.unreachable(location: location.description, reason: message)
            }
            throw reason
        }
    }
}

/// One connection, lent to one caller at a time by `PostgresSessions`.
final class PostgresSession {
    let connection: PostgresConnection
    private let logger: Logger
    /// `PostgresSessions.answerTimeout`.
    private let answerTimeout: Duration?
    /// False once a statement failed outside a transaction's rollback, or the connection closed.
    private(set) var isUsable = true

    init(connection: PostgresConnection, answerTimeout: Duration? = nil, logger: Logger) {
        self.connection = connection
        self.answerTimeout = answerTimeout
        self.logger = logger
    }

    /// Runs one statement and waits for all its rows; `what` names it in errors.
    @discardableResult
    func query(_ query: PostgresQuery, _ what: String) throws(PostgresStoreError) -> PostgresQueryResult {
        do {
            let answer = connection.query(query, logger: logger)
            guard let answerTimeout else { return try answer.wait() }
            guard let result = try PostgresSessions.wait(for: answer, within: answerTimeout) else {
                isUsable = false
                PostgresSessions.closeLater(connection)
                throw PostgresStoreError.statement(
                    sqlState: "08006", message: "no answer within \(answerTimeout); the connection was closed", what: what)
            }
            return result
        } catch let error as PostgresStoreError {
            throw error
        } catch {
            let failure = PostgresStoreError.from(error, what: what)
            if connection.isClosed { isUsable = false }
            throw failure
        }
    }

    /// Runs statements separated by semicolons, without parameters (schema changes).
    func execute(_ sql: String, _ what: String) throws(PostgresStoreError) {
        try query(PostgresQuery(unsafeSQL: sql), what)
    }

    /// Releases a session-level advisory lock; a connection that cannot is closed (which releases it).
    func releaseAdvisoryLock(_ lock: PostgresSchema.Lock) {
        do {
            try query("SELECT pg_advisory_unlock(\(PostgresSchema.Lock.namespace), \(lock.rawValue))", "releasing an advisory lock")
        } catch {
            isUsable = false
        }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        // The batch-ID claim and the compaction rely on read-committed snapshots, whatever the
        // database's default isolation.
        try execute("BEGIN ISOLATION LEVEL READ COMMITTED", "begin")
        let result: T
        do {
            result = try body()
        } catch {
            do { try execute("ROLLBACK", "rollback") } catch { isUsable = false }
            throw error
        }
        do {
            try execute("COMMIT", "commit")
        } catch {
            // The outcome of a COMMIT whose answer was lost is unknown: the caller reports a
            // failure and its sender retries, which the batch ID makes safe.
            isUsable = false
            throw error
        }
        return result
    }
}
