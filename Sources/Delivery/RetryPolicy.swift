import Foundation

/// How a sender — the SDK's exporter or the agent's shipper — treats an answer and paces its
/// retries: only a permanent refusal of the request itself (400, 413) gives up; every other
/// status and any transport error is retried with capped exponential backoff and full jitter
/// (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/), never sooner than
/// the server's `Retry-After` nor later than `maxBackoff`.
public struct RetryPolicy: Equatable, Sendable {
    /// Total attempts per batch, the first included; `nil` retries until delivered (the agent,
    /// whose queue keeps the batch on disk meanwhile).
    public var maxAttempts: Int?
    /// The backoff ceiling before the first retry; doubles each retry.
    public var initialBackoff: Duration
    /// No single wait exceeds this, even when the server's `Retry-After` asks for more.
    public var maxBackoff: Duration

    /// Defaults suit an application's exporter: 4 attempts, backoff from 100 ms doubling up to 2 s.
    public init(maxAttempts: Int? = 4, initialBackoff: Duration = .milliseconds(100), maxBackoff: Duration = .seconds(2)) {
        self.maxAttempts = maxAttempts.map { max(1, $0) }
        self.initialBackoff = max(initialBackoff, .nanoseconds(1))
        self.maxBackoff = max(maxBackoff, self.initialBackoff)
    }

    /// The agent's shipper: retries until delivered, waits at most 30 s between attempts.
    public static let untilDelivered = RetryPolicy(maxAttempts: nil, initialBackoff: .milliseconds(100), maxBackoff: .seconds(30))

    /// What an HTTP status means for the batch that got it.
    public enum Verdict: Equatable, Sendable {
        case delivered
        /// Try again later: overload, gateway trouble, a server error, a redirect or a missing route
        /// (a collector being replaced), a refused token an operator can fix.
        case retry
        /// The request itself is wrong (400) or too large (413): sending it again cannot help.
        case refused
    }

    /// The verdict for `status`, whatever the size or content of the answer's body.
    public static func verdict(status: Int) -> Verdict {
        switch status {
        case 200..<300: return .delivered
        case 400, 413: return .refused
        default: return .retry
        }
    }

    /// The longest wait before retry number `retry` (from 1): `initialBackoff` doubled each
    /// retry, at most `maxBackoff`; `backoff` draws below it.
    public func ceiling(retry: Int) -> Duration {
        min(initialBackoff * (1 << min(max(retry - 1, 0), 40)), maxBackoff)
    }

    /// The wait before retry number `retry` (1-based): random in 0...`ceiling(retry:)`, raised to
    /// the server's `Retry-After` if that is longer, and never beyond `maxBackoff`.
    public func backoff(retry: Int, retryAfter: Duration? = nil, using generator: inout some RandomNumberGenerator) -> Duration {
        let ceiling = ceiling(retry: retry)
        let jittered = Duration.nanoseconds(Int64.random(in: 0...max(ceiling.wholeNanoseconds, 1), using: &generator))
        guard let retryAfter else { return jittered }
        return min(max(jittered, retryAfter), maxBackoff)
    }

    public func backoff(retry: Int, retryAfter: Duration? = nil) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return backoff(retry: retry, retryAfter: retryAfter, using: &generator)
    }

    /// A `Retry-After` header in either of its forms (RFC 9110 §10.2.3): delay-seconds, or an
    /// HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, or the obsolete RFC 850 and asctime forms).
    /// `nil` for an absent or unreadable value; a date in the past is no wait; huge values saturate.
    public static func retryAfter(_ header: String?, now: Date = Date()) -> Duration? {
        guard let text = header?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            // More digits than Int64 holds is still "a very long time".
            return .seconds(Int64(text) ?? Int64.max / 1_000_000_000)
        }
        // An HTTP date is short printable ASCII; anything else is no date (and Foundation's
        // formatter traps on some non-ASCII input).
        guard text.utf8.count <= 64, text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return nil }
        for format in httpDateFormats {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) {
                let seconds = date.timeIntervalSince(now)
                guard seconds.isFinite, seconds > 0 else { return .zero }
                return .milliseconds(Int64(min(seconds, 1e12) * 1000))
            }
        }
        return nil
    }

    private static let httpDateFormats = ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"]
}

extension Duration {
    /// Whole nanoseconds, saturating at `Int64`'s range.
    public var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, sumOverflow) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return sumOverflow ? (seconds < 0 ? .min : .max) : sum
    }
}
