import Benchmark
import Logging
import OTel

/// One `info` call with three metadata values through each SDK's swift-log handler: what a
/// structured log line in a request handler costs the calling thread.
func registerLoggingBenchmarks() {
    let configuration = Benchmark.Configuration(maxIterations: BackendSettings.maxQueuedSamples)
    let periscope = SetupSlot<PeriscopeBackend>()
    Benchmark("Periscope log info+3 metadata", configuration: configuration) { benchmark, backend in
        logLines(to: backend.logger, count: benchmark.scaledIterations.count)
    } setup: {
        periscope.store(try PeriscopeBackend())
    } teardown: {
        guard let backend = periscope.take() else { return }
        printToStandardError(backend.countersDescription + " (log info+3 metadata)")
        await backend.stop()
    }

    let otel = SetupSlot<Task<Void, Never>>()
    Benchmark("swift-otel log info+3 metadata", configuration: configuration) { benchmark, backend in
        logLines(to: backend.logger, count: benchmark.scaledIterations.count)
    } setup: {
        let made = try OTel.makeLoggingBackend(configuration: SwiftOTelBackend.configuration())
        let logger = Logger(label: "checkout", factory: made.factory)
        return RunningLogger(logger: logger, task: otel.store(SwiftOTelBackend.start(made.service)))
    } teardown: {
        guard let task = otel.take() else { return }
        task.cancel()
        await task.value
    }
}

/// A logger together with the task running its backend's processor and exporter.
struct RunningLogger: Sendable {
    /// The logger under test.
    let logger: Logger
    /// Runs the backend's services; cancelled in teardown through a `SetupSlot`.
    let task: Task<Void, Never>
}

/// Logs `count` lines with three metadata values of the usual kinds (string, int, string).
@inline(never)
func logLines(to logger: Logger, count: Int) {
    for index in 0..<count {
        logger.info("order placed", metadata: [
            "order_id": "A-10042",
            "items": "\(index & 7)",
            "correlation_id": "c0ffee42",
        ])
    }
}
