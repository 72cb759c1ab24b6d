/// Exponential backoff with full jitter (a random delay in [0, min(cap, base·2^attempt)]),
/// never shorter than a server's `Retry-After`.
/// See https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
struct RetryPolicy: Equatable, Sendable {
    var baseDelay = Duration.milliseconds(100)
    var maxDelay = Duration.seconds(30)

    func delay(attempt: Int, retryAfterSeconds: Int?, using generator: inout some RandomNumberGenerator) -> Duration {
        let exponent = min(attempt, 30)
        let ceiling = min(maxDelay, baseDelay * (1 << exponent))
        let ceilingNanos = max(1, ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000)
        let jittered = Duration.nanoseconds(Int64.random(in: 0...ceilingNanos, using: &generator))
        guard let retryAfterSeconds else { return jittered }
        return max(jittered, .seconds(retryAfterSeconds))
    }
}
