/// How the queue writer groups requests into batches.
struct BatchingConfiguration: Equatable, Sendable {
    /// Items that close a batch; a write holding more splits them into several batches.
    var maxItems = 8192
    /// Uncompressed bytes that close a batch.
    var maxBytes = 1 << 20
    /// How long a write waits for more requests to join it before it starts. Zero (the
    /// default) writes at once: requests still join a write while the one before it is in
    /// progress. Longer waits trade answer latency for fewer, larger batches.
    var maxDelay = Duration.zero
}
