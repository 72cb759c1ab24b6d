import Synchronization

/// The bytes of OTLP request bodies a server holds at once, compressed as received and
/// decompressed, over every request in flight on either protocol. `BodyLimits` caps one
/// request; this caps them together, so that the requests a server takes side by side
/// (`ConcurrencyLimit`) cannot add up to gigabytes. A request that finds it spent is answered
/// 503 with `Retry-After` (gRPC `UNAVAILABLE` with a `RetryInfo`), which OTLP exporters retry;
/// a request alone always has the whole of its own limits.
public final class RequestMemoryBudget: Sendable {
    public let limit: Int
    private let state = Mutex(State())

    private struct State {
        var held = 0
        var refusals = 0
    }

    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// `limits.inFlightBytes`: by default room for four requests at both per-request limits, a
    /// few large requests at once and any number of ordinary ones.
    public convenience init(for limits: BodyLimits) {
        self.init(limit: limits.inFlightBytes)
    }

    /// Bytes held by the requests in flight now.
    public var bytesHeld: Int { state.withLock { $0.held } }

    /// Requests refused so far because the budget was spent (answered 503 or `UNAVAILABLE`).
    public var refusals: Int { state.withLock { $0.refusals } }

    /// Takes `wanted` bytes more for a claim that holds `own` already, or as many as are left but
    /// at least `least`; nil when fewer than `least` are left. When no other claim holds any, all
    /// of `wanted`.
    func take(_ wanted: Int, atLeast least: Int, holding own: Int) -> Int? {
        state.withLock { state in
            let left = limit - min(state.held, limit)
            let taken = state.held <= own ? wanted : min(wanted, left)
            guard taken >= min(least, wanted) else {
                state.refusals += 1
                return nil
            }
            state.held += taken
            return taken
        }
    }

    func giveBack(_ bytes: Int) {
        state.withLock { $0.held -= min(bytes, $0.held) }
    }
}

/// One request's share of a `RequestMemoryBudget` while it is read, decoded and handled; the
/// server gives it back (`release`) once the request is answered.
public struct RequestMemoryClaim: Sendable {
    let budget: RequestMemoryBudget?
    private(set) var bytes = 0

    public init(_ budget: RequestMemoryBudget?) {
        self.budget = budget
    }

    /// Holds `wanted` more bytes, or as many as are left but at least `least`; false when the
    /// budget has fewer than `least` left. Without a budget, always all of them.
    mutating func take(_ wanted: Int, atLeast least: Int) -> Int? {
        guard let budget else { return wanted }
        guard let taken = budget.take(wanted, atLeast: least, holding: bytes) else { return nil }
        bytes += taken
        return taken
    }

    /// Holds `count` bytes from now on: gives back what it held beyond them, or takes what is
    /// missing (false when the budget has not got it).
    mutating func hold(_ count: Int) -> Bool {
        if count < bytes {
            budget?.giveBack(bytes - count)
            bytes = count
            return true
        }
        return count == bytes || take(count - bytes, atLeast: count - bytes) != nil
    }

    public mutating func release() {
        budget?.giveBack(bytes)
        bytes = 0
    }
}
