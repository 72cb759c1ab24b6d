import Logging
import PeriscopeSDK

/// A non-global Periscope instance with its export loop running, for the benchmarks' lifetime.
final class PeriscopeBackend: Sendable {
    /// The instance under test: its `tracer` and `makeLogHandler(label:)` are what is measured.
    let periscope: Periscope
    /// A logger whose handler is `PeriscopeLogHandler`, made without bootstrapping swift-log.
    let logger: Logger
    private let exportLoop: Task<Void, Never>

    /// Builds Periscope per `BackendSettings` and starts its export loop in the background.
    init() throws {
        let export = OTLPExporter.Configuration(
            endpoint: BackendSettings.agentEndpoint,
            spanQueueCapacity: BackendSettings.queueCapacity,
            logQueueCapacity: BackendSettings.queueCapacity,
            maxBatchSize: BackendSettings.batchSize,
            exportInterval: BackendSettings.exportInterval,
            requestTimeout: .seconds(1))
        let periscope = try Periscope(configuration: PeriscopeConfiguration(
            serviceName: BackendSettings.serviceName,
            agentEndpoint: BackendSettings.agentEndpoint,
            samplingRatio: 1.0,
            logLevel: .info,
            export: export,
            shutdownTimeout: .milliseconds(200)))
        self.periscope = periscope
        self.logger = Logger(label: "checkout", factory: { periscope.makeLogHandler(label: $0) })
        self.exportLoop = Task { try? await periscope.run() }
    }

    /// The exporter's counters, so a reader can tell how much was queued, sent or dropped.
    var countersDescription: String {
        let exporter = periscope.exporter
        return "periscope exporter: dropped spans \(exporter.droppedSpans), dropped logs \(exporter.droppedLogs), "
            + "failed exports \(exporter.failedExports), queued \(exporter.queuedItems)"
    }

    /// Stops the export loop.
    func stop() async {
        exportLoop.cancel()
        await exportLoop.value
    }
}
