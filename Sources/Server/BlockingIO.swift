import NIOCore
import NIOPosix

/// Where blocking file and database work runs (SQLite statements, `fsync`, segment reads, dead
/// letters, checkpoints): NIO's thread pool, off Swift's cooperative pool, whose one thread per
/// core must stay free for the servers' async work.
public enum BlockingIO {
    /// Runs `body` on the thread pool and returns its result; throws what it throws, or
    /// `NIOThreadPoolError.ThreadPoolInactive` once the pool has shut down. A caller cancelled
    /// before the pool starts `body` gets `CancellationError` and `body` never runs.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }

    /// Runs a query's `body` as `run` does, on a pool of its own (two to four threads, by the
    /// cores): a slow question (a month of logs searched for text) waits behind other
    /// questions, never in front of the commits and `fsync`s that ingest runs on the shared
    /// pool. At most four at once also leaves most of a PostgreSQL store's sessions to ingest.
    public static func runQuery<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await queryPool.runIfActive(body)
    }

    /// Runs a scrape's `body` (`GET /metrics`) on one thread of its own: scrapes wait for each
    /// other, never behind slow questions (a scrape that timed out would make a healthy server
    /// look down) nor in front of ingest.
    public static func runScrape<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await scrapePool.runIfActive(body)
    }

    private static let queryPool = startedPool(threads: min(4, max(2, System.coreCount)))
    private static let scrapePool = startedPool(threads: 1)

    private static func startedPool(threads: Int) -> NIOThreadPool {
        let pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        return pool
    }

    /// Runs `body` on the thread pool whether or not the caller is cancelled meanwhile: for work
    /// done on behalf of others too (a group commit), which one caller's hang-up must not skip.
    /// Throws only `NIOThreadPoolError.ThreadPoolInactive`, once the pool has shut down.
    public static func runToCompletion<T: Sendable>(_ body: @escaping @Sendable () -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            NIOThreadPool.singleton.submit { state in
                switch state {
                case .active: continuation.resume(returning: body())
                case .cancelled: continuation.resume(throwing: NIOThreadPoolError.ThreadPoolInactive())
                }
            }
        }
    }
}
