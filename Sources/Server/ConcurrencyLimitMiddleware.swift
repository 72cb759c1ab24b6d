import HTTPTypes
import Hummingbird
import NIOCore
import PeriscopeModel
import Synchronization

/// Answers at most `maxConcurrent` ingest requests (POST) and `maxConcurrent` queries (everything
/// else) at once — two pools, so slow queries never starve ingest; one more gets 503 with
/// `Retry-After` before its body is read, so OTLP clients back off and retry
/// (https://opentelemetry.io/docs/specs/otlp/#otlphttp-throttling). With body limits this bounds
/// a server's memory: about `maxConcurrent` × (body + decompressed body) however many clients
/// send at once. A client that stops sending mid-request is disconnected after
/// `ConcurrencyLimit.idleTimeout`, which frees its place. `/healthz` is never refused.
public struct ConcurrencyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxConcurrent: Int
    let ingest: InFlightCounter
    let queries = InFlightCounter()
    let counters: IngestCounters?

    /// - Parameters:
    ///   - ingest: the ingest places, shared with the gRPC services so both protocols
    ///     together stay within `maxConcurrent`.
    ///   - counters: where an OTLP export turned away here is counted (a 503 of its signal).
    public init(
        maxConcurrent: Int = ConcurrencyLimit.defaultMaxConcurrent, ingest: InFlightCounter = InFlightCounter(), counters: IngestCounters? = nil
    ) {
        self.maxConcurrent = max(1, maxConcurrent)
        self.ingest = ingest
        self.counters = counters
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/healthz" { return try await next(request, context) }
        let inFlight = request.method == .post ? ingest : queries
        guard inFlight.enter(limit: maxConcurrent) else {
            if request.method == .post, let counters, let signal = Signal.allCases.first(where: { $0.path == request.uri.path }) {
                counters.refused(signal, status: 503)
            }
            var response = Response.json(
                status: .serviceUnavailable,
                ["error": "more than \(maxConcurrent) requests in progress; retry after the Retry-After delay"])
            response.headers[.retryAfter] = "1"
            return response
        }
        defer { inFlight.leave() }
        return try await next(request, context)
    }
}

public enum ConcurrencyLimit {
    /// Requests a server answers at once unless configured.
    public static let defaultMaxConcurrent = 16
    /// How long a connection may stay silent, mid-request too, before it is closed.
    public static let idleTimeout = TimeAmount.seconds(30)
}

/// Requests in progress, shared by every copy of the middleware.
public final class InFlightCounter: Sendable {
    private let count = Atomic<Int>(0)

    public init() {}

    /// Takes a place if fewer than `limit` are taken.
    func enter(limit: Int) -> Bool {
        var current = count.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = count.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func leave() { count.subtract(1, ordering: .acquiringAndReleasing) }

    public var current: Int { count.load(ordering: .relaxed) }
}
