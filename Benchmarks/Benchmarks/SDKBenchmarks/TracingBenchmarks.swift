import Benchmark
import OTel
import Tracing

/// Spans through the swift-distributed-tracing API: `startSpan` then `end`, and `withSpan`,
/// which also makes the span current. A root span each time, so every iteration also draws a
/// new trace ID and runs the sampler.
func registerTracingBenchmarks() {
    for workload in SpanWorkload.allCases { registerTracingBenchmark(workload) }
}

/// What one iteration of a tracing benchmark does.
enum SpanWorkload: String, CaseIterable, Sendable {
    /// `startSpan` then `end`.
    case startAndEnd = "span start+end"
    /// `withSpan` around an empty closure: start and end plus making the span current (its
    /// context and the task-local binding), which is what instrumented request code pays.
    case withSpan = "withSpan"

    /// Runs `count` iterations; generic so each tracer is called statically.
    @inline(never)
    func run<T: Tracer>(with tracer: T, count: Int) {
        switch self {
        case .startAndEnd:
            for _ in 0..<count {
                let span = tracer.startSpan("GET /checkout", context: .topLevel, ofKind: .server)
                span.end()
            }
        case .withSpan:
            for _ in 0..<count {
                tracer.withSpan("GET /checkout", context: .topLevel, ofKind: .server) { _ in }
            }
        }
    }
}

/// Registers "Periscope <workload>" and "swift-otel <workload>", each tracer set up alike.
private func registerTracingBenchmark(_ workload: SpanWorkload) {
    let name = workload.rawValue
    let configuration = Benchmark.Configuration(maxIterations: BackendSettings.maxQueuedSamples)
    let periscope = SetupSlot<PeriscopeBackend>()
    Benchmark("Periscope \(name)", configuration: configuration) { benchmark, backend in
        workload.run(with: backend.periscope.tracer, count: benchmark.scaledIterations.count)
    } setup: {
        periscope.store(try PeriscopeBackend())
    } teardown: {
        guard let backend = periscope.take() else { return }
        printToStandardError(backend.countersDescription + " (\(name))")
        await backend.stop()
    }

    let otel = SetupSlot<Task<Void, Never>>()
    Benchmark("swift-otel \(name)", configuration: configuration) { benchmark, backend in
        workload.run(with: backend.tracer, count: benchmark.scaledIterations.count)
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
