import NIOPosix

/// Where blocking file and database work runs (SQLite statements, `fsync`, segment reads, dead
/// letters, checkpoints): NIO's thread pool, off Swift's cooperative pool, whose one thread per
/// core must stay free for the servers' async work.
public enum BlockingIO {
    /// Runs `body` on the thread pool and returns its result; throws what it throws, or
    /// `NIOThreadPoolError.ThreadPoolInactive` once the pool has shut down.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
