import Benchmark
import CoreMetrics
import OTel

/// One counter increment through each SDK's swift-metrics factory (a counter created once,
/// with one dimension): what counting a request costs the calling thread.
func registerMetricsBenchmarks() {
    let periscope = SetupSlot<PeriscopeBackend>()
    Benchmark("Periscope counter increment") { benchmark, counter in
        increment(counter, count: benchmark.scaledIterations.count)
    } setup: {
        let backend = try PeriscopeBackend()
        _ = periscope.store(backend)
        return Counter(label: "orders_placed", dimensions: [("route", "/checkout")], factory: backend.periscope.metrics)
    } teardown: {
        guard let backend = periscope.take() else { return }
        await backend.stop()
    }

    let otel = SetupSlot<Task<Void, Never>>()
    Benchmark("swift-otel counter increment") { benchmark, counter in
        increment(counter, count: benchmark.scaledIterations.count)
    } setup: {
        var configuration = SwiftOTelBackend.configuration()
        configuration.metrics.enabled = true
        configuration.metrics.exporter = .none
        configuration.metrics.exportInterval = BackendSettings.exportInterval
        let made = try OTel.makeMetricsBackend(configuration: configuration)
        _ = otel.store(SwiftOTelBackend.start(made.service))
        return Counter(label: "orders_placed", dimensions: [("route", "/checkout")], factory: made.factory)
    } teardown: {
        guard let task = otel.take() else { return }
        task.cancel()
        await task.value
    }
}

/// Increments `counter` `count` times.
@inline(never)
func increment(_ counter: Counter, count: Int) {
    for _ in 0..<count { counter.increment() }
}
