/// How the exporter retries a batch the agent could not take: capped exponential backoff with
/// full jitter, only for failures that may pass (connection errors, 429, 502, 503, 504).
public struct RetryPolicy: Sendable {
    /// Total attempts per batch, the first included; the batch is dropped and counted after the last.
    public var maxAttempts: Int
    /// The backoff ceiling before the first retry; doubles each retry.
    public var initialBackoff: Duration
    /// No single wait exceeds this, even when the agent's `Retry-After` asks for more.
    public var maxBackoff: Duration

    /// Defaults: 4 attempts, backoff from 100 ms doubling up to 2 s.
    public init(maxAttempts: Int = 4, initialBackoff: Duration = .milliseconds(100), maxBackoff: Duration = .seconds(2)) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// HTTP statuses worth another try.
    public static func isRetryable(status: Int) -> Bool {
        status == 429 || status == 502 || status == 503 || status == 504
    }

    /// The wait before retry number `retry` (1-based): random in 0...min(initial·2^(retry-1), max),
    /// or the server's `Retry-After` if given, capped by `maxBackoff`.
    public func backoff(retry: Int, retryAfter: Duration? = nil) -> Duration {
        if let retryAfter { return min(retryAfter, maxBackoff) }
        let exponent = min(max(retry - 1, 0), 20)
        let ceiling = min(initialBackoff * (1 << exponent), maxBackoff)
        let ceilingNanos = max(ceiling.nanoseconds, 1)
        return .nanoseconds(Int64.random(in: 0...ceilingNanos))
    }
}

extension Duration {
    /// Whole nanoseconds, saturating.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled &+ attoseconds / 1_000_000_000
    }
}
