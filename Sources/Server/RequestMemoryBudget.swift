import Synchronization

/// The bytes of OTLP request bodies a server holds at once, compressed as received and
/// decompressed, over every request in flight on either protocol. `BodyLimits` caps one
/// request; this caps them together, so that the requests a server takes side by side
/// (`ConcurrencyLimit`) cannot add up to gigabytes. A request that finds it spent is answered
/// 503 with `Retry-After` (gRPC `UNAVAILABLE` with a `RetryInfo`), which OTLP exporters retry.
/// A request alone always has the whole of its own limits, and of the requests whose output
/// outgrows what is left, the first may go on growing past the budget (by at most its own
/// limits) while the others are refused: one of them always finishes.
public final class RequestMemoryBudget: Sendable {
    public let limit: Int
    private let state = Mutex(State())

    private struct State {
        var held = 0
        var refusals = 0
        var claims = 0
        /// The claim that may grow past the limit, until it is released or the total is within the limit.
        var overrunning: Int?
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

    func newClaim() -> Int {
        state.withLock { state in
            state.claims &+= 1
            return state.claims
        }
    }

    /// Takes `wanted` bytes more for claim `id`, which holds `own` already, or as many as are left
    /// but at least `least`; nil when fewer than `least` are left. All of `wanted` when no other
    /// claim holds any, or (`growing`) when no other claim is overrunning the budget.
    func take(_ wanted: Int, atLeast least: Int, claim id: Int, holding own: Int, growing: Bool) -> Int? {
        state.withLock { state in
            let needed = min(least, wanted)
            var taken = min(wanted, limit - min(state.held, limit))
            if state.held <= own {
                taken = wanted
            } else if taken < needed, growing, state.overrunning == nil || state.overrunning == id {
                state.overrunning = id
                taken = wanted
            }
            guard taken >= needed else {
                state.refusals += 1
                return nil
            }
            state.held += taken
            return taken
        }
    }

    func giveBack(_ bytes: Int, claim id: Int, released: Bool) {
        state.withLock { state in
            state.held -= min(bytes, state.held)
            // Once the total is within the limit again, another request may be the one to overrun.
            if state.overrunning == id, released || state.held <= limit { state.overrunning = nil }
        }
    }
}

/// One request's share of a `RequestMemoryBudget` while it is read, decoded and handled; the
/// server gives it back (`release`) once the request is answered, and whatever it still holds
/// when it goes away. Not copyable: a copy released as well would give its bytes back twice.
public struct RequestMemoryClaim: ~Copyable, Sendable {
    let budget: RequestMemoryBudget?
    private let id: Int
    private(set) var bytes = 0

    public init(_ budget: RequestMemoryBudget?) {
        self.budget = budget
        id = budget?.newClaim() ?? 0
    }

    /// Holds `wanted` more bytes, or as many as are left but at least `least`; nil when the
    /// budget has fewer than `least` left. Without a budget, always all of them.
    mutating func take(_ wanted: Int, atLeast least: Int) -> Int? {
        take(wanted, atLeast: least, growing: false)
    }

    /// As `take`, for a request already under way whose output outgrew its hold: the first such
    /// request may go past the budget, so that one always finishes.
    mutating func grow(_ wanted: Int, atLeast least: Int) -> Int? {
        take(wanted, atLeast: least, growing: true)
    }

    private mutating func take(_ wanted: Int, atLeast least: Int, growing: Bool) -> Int? {
        guard let budget else { return wanted }
        guard let taken = budget.take(wanted, atLeast: least, claim: id, holding: bytes, growing: growing) else { return nil }
        bytes += taken
        return taken
    }

    /// Holds `count` bytes from now on: gives back what it held beyond them, or takes what is
    /// missing (false when the budget has not got it).
    mutating func hold(_ count: Int) -> Bool {
        if count < bytes {
            budget?.giveBack(bytes - count, claim: id, released: false)
            bytes = count
            return true
        }
        return count == bytes || take(count - bytes, atLeast: count - bytes) != nil
    }

    public mutating func release() {
        budget?.giveBack(bytes, claim: id, released: true)
        bytes = 0
    }

    deinit {
        budget?.giveBack(bytes, claim: id, released: true)
    }
}
