import HTTPTypes
import Hummingbird
import Synchronization

/// Answers at most `maxConcurrent` requests at once; one more gets 503 with `Retry-After` before
/// its body is read, so OTLP clients back off and retry
/// (https://opentelemetry.io/docs/specs/otlp/#otlphttp-throttling). With body limits this bounds
/// a server's memory: about `maxConcurrent` × (body + decompressed body) however many clients
/// send at once. `/healthz` is never refused.
public struct ConcurrencyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxConcurrent: Int
    let inFlight: InFlightCounter

    public init(maxConcurrent: Int = ConcurrencyLimit.defaultMaxConcurrent) {
        self.maxConcurrent = max(1, maxConcurrent)
        inFlight = InFlightCounter()
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/healthz" { return try await next(request, context) }
        guard inFlight.enter(limit: maxConcurrent) else {
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
}

/// Requests in progress, shared by every copy of the middleware.
public final class InFlightCounter: Sendable {
    private let count = Atomic<Int>(0)

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
