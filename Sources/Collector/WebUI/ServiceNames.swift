import Synchronization

/// The service names the traces form offers: read from the store at most once a minute, since
/// listing them reads every day's operations, and at most `maxNames` of them. They only help
/// to type a name, so a failed read offers the last list (or none) and is tried again a minute later.
final class ServiceNames: Sendable {
    static let maxNames = 500
    static let maxAgeNanos: UInt64 = 60_000_000_000
    private let cached = Mutex<(readAt: UInt64, names: [String])?>(nil)

    func names(nowUnixNano: UInt64, read: () async throws -> [String]) async -> [String] {
        // The first request past the minute reads; the others meanwhile offer the list they have.
        let (fresh, last): (Bool, [String]?) = cached.withLock { cached in
            if let current = cached, nowUnixNano >= current.readAt, nowUnixNano - current.readAt < Self.maxAgeNanos {
                return (true, current.names)
            }
            let last = cached?.names
            cached = (nowUnixNano, last ?? [])
            return (false, last)
        }
        if fresh, let last { return last }
        guard let names = try? await read() else { return last ?? [] }
        let kept = Array(names.prefix(Self.maxNames))
        cached.withLock { $0 = (nowUnixNano, kept) }
        return kept
    }
}
