/// The one export configuration both SDKs get, so neither is measured with a better deal.
///
/// Both sample every span, hold finished spans in a queue of `queueCapacity`, export in
/// batches of `batchSize` every `exportInterval`, and drop (counting) when the queue is full.
/// Periscope sends to `agentEndpoint`, a closed loopback port: each export fails at once with
/// "connection refused", so nothing waits on a network. swift-otel gets its no-op exporter.
enum BackendSettings {
    /// A loopback port nothing listens on (discard), so exports fail fast and stay local.
    static let agentEndpoint = "http://127.0.0.1:9"
    /// Finished spans or log records held before dropping: large enough that the exporter
    /// falling behind during a benchmark never turns appends into cheaper drops.
    static let queueCapacity = 1_048_576
    /// At most this many 1,000-call samples per span or log benchmark, so that with the warm-up
    /// every span or record a run produces fits in the queue: a tight loop produces them faster
    /// than any exporter sends them (here, to a closed port), and the 3-second limit alone would
    /// let the queue fill and measure mostly drops.
    static let maxQueuedSamples = queueCapacity / 1_000 - warmupSamples
    /// Warm-up samples of every benchmark.
    static let warmupSamples = 50
    /// Items per export batch.
    static let batchSize = 512
    /// How often a partial batch is exported.
    static let exportInterval: Duration = .milliseconds(200)
    /// The service name both report.
    static let serviceName = "bench"
}
