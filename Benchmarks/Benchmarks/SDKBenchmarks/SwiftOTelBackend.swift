import Logging
import OTel
import ServiceLifecycle
import Tracing

/// swift-otel configured like `PeriscopeBackend`: always-on sampling, batch processors with the
/// same queue and batch sizes, and the no-op exporter, its services running in the background.
enum SwiftOTelBackend {
    /// swift-otel's configuration mirroring `BackendSettings`.
    static func configuration() -> OTel.Configuration {
        var configuration = OTel.Configuration.default
        configuration.serviceName = BackendSettings.serviceName
        configuration.diagnosticLogLevel = .error
        configuration.traces.sampler = .alwaysOn
        configuration.traces.exporter = .none
        configuration.traces.batchSpanProcessor.maxQueueSize = BackendSettings.queueCapacity
        configuration.traces.batchSpanProcessor.maxExportBatchSize = BackendSettings.batchSize
        configuration.traces.batchSpanProcessor.scheduleDelay = BackendSettings.exportInterval
        configuration.logs.exporter = .none
        configuration.logs.level = .info
        configuration.logs.batchLogRecordProcessor.maxQueueSize = BackendSettings.queueCapacity
        configuration.logs.batchLogRecordProcessor.maxExportBatchSize = BackendSettings.batchSize
        configuration.logs.batchLogRecordProcessor.scheduleDelay = BackendSettings.exportInterval
        configuration.metrics.enabled = false
        return configuration
    }

    /// Runs `service` until the returned task is cancelled.
    static func start(_ service: some Service) -> Task<Void, Never> {
        Task { try? await service.run() }
    }
}
