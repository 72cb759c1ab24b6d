import Benchmark
import OTel
import Tracing

/// Span start+end through the swift-distributed-tracing API (`startSpan` then `end`): the work
/// a `withSpan` around a request adds, minus the closure. A root span each time, so every
/// iteration also draws a new trace ID and runs the sampler.
func registerTracingBenchmarks() {
    let periscope = SetupSlot<PeriscopeBackend>()
    Benchmark("Periscope span start+end") { benchmark, backend in
        startAndEndSpans(with: backend.periscope.tracer, count: benchmark.scaledIterations.count)
    } setup: {
        periscope.store(try PeriscopeBackend())
    } teardown: {
        guard let backend = periscope.take() else { return }
        printToStandardError(backend.countersDescription)
        await backend.stop()
    }

    let otel = SetupSlot<Task<Void, Never>>()
    Benchmark("swift-otel span start+end") { benchmark, backend in
        startAndEndSpans(with: backend.tracer, count: benchmark.scaledIterations.count)
    } setup: {
        let made = try OTel.makeTracingBackend(configuration: SwiftOTelBackend.configuration())
        return RunningTracer(tracer: made.factory, task: otel.store(SwiftOTelBackend.start(made.service)))
    } teardown: {
        guard let task = otel.take() else { return }
        task.cancel()
        await task.value
    }
}

/// A tracer together with the task running its background services.
struct RunningTracer<T: Tracer>: Sendable {
    /// The tracer under test.
    let tracer: T
    /// Runs the tracer's processor and exporter; cancelled in teardown through a `SetupSlot`.
    let task: Task<Void, Never>
}

/// Starts and ends `count` root server spans; generic so each tracer is called statically.
@inline(never)
func startAndEndSpans<T: Tracer>(with tracer: T, count: Int) {
    for _ in 0..<count {
        let span = tracer.startSpan("GET /checkout", context: .topLevel, ofKind: .server)
        span.end()
    }
}
