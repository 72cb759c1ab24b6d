/// Where receivers hand what they decoded. `accept` returns only once the data is as safe as
/// this sink can make it — in the durable queue — and the receiver acknowledges its client
/// only after that.
protocol BatchSink: Sendable {
    func accept(_ request: OTLPRequestPayload) async throws(DeliveryError)
}

/// Why data could not be handed on, and whether the sender should try again.
enum DeliveryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The collector refused the batch for good (400, 413): retrying cannot help.
    case rejected(status: Int, message: String)
    /// The collector is unreachable, overloaded or answered anything but 2xx, 400 and 413;
    /// `retryAfter` if it said when to retry.
    case unavailable(reason: String, retryAfter: Duration?)
    /// The agent's queue is full: the client should retry after this many seconds.
    case queueFull(retryAfterSeconds: Int)
    /// The agent could not write its queue.
    case storage(String)

    var description: String {
        switch self {
        case .rejected(let status, let message): return "collector rejected the batch (\(status)): \(message)"
        case .unavailable(let reason, _): return "collector unavailable: \(reason)"
        case .queueFull: return "the agent's queue is full"
        case .storage(let reason): return "the agent cannot write its queue: \(reason)"
        }
    }
}
