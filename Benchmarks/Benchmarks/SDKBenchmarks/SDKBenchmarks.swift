import Benchmark

/// The SDK's hot paths — span start+end, a span through `withSpan`, a log call with three
/// metadata values and a counter increment — measured
/// for Periscope and for swift-otel in the same process and run, so the two are comparable.
///
/// Each sample times 1,000 calls (`scalingFactor: .kilo`) and the figures are reported per
/// call, which keeps the clock's own cost (tens of nanoseconds) out of a sub-microsecond figure.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        warmupIterations: BackendSettings.warmupSamples,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 5_000
    )
    registerTracingBenchmarks()
    registerLoggingBenchmarks()
    registerMetricsBenchmarks()
}
