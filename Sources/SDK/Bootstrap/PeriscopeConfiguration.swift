import Foundation
import Logging

/// Everything `Periscope.bootstrap` needs. What the code sets wins; what it leaves out comes
/// from the standard OpenTelemetry environment variables (`OTelEnvironment`), then defaults.
public struct PeriscopeConfiguration: Sendable {
    /// `service.name`: how traces, logs and golden signals are grouped.
    public var serviceName: String
    /// The agent's OTLP/HTTP base URL (the sidecar listens on `http://127.0.0.1:4318`).
    public var agentEndpoint: String
    /// Decides which new spans are recorded: parent-based ratio 1 (everything) by default.
    public var sampler: any Sampler
    /// Extra resource attributes, e.g. `deployment.environment`.
    public var resourceAttributes: [String: String]
    /// The level of loggers created after bootstrap.
    public var logLevel: Logger.Level
    /// An optional JSON-lines copy of every log record.
    public var logMirror: LogMirrorDestination?
    /// Metadata added to every log record (e.g. a correlation ID from the request context).
    public var metadataProvider: Logger.MetadataProvider?
    /// Queues, batching, retries, headers.
    public var export: OTLPExporter.Configuration
    /// Metrics export interval (default 10 s, or `OTEL_METRIC_EXPORT_INTERVAL`), histogram buckets and the series limit.
    public var metrics: PeriscopeMetrics.Configuration
    /// How long the final flush may take at shutdown.
    public var shutdownTimeout: Duration
    /// Which context formats are read and written (W3C trace context and baggage by default).
    public var propagators: Propagators
    /// `OTEL_SDK_DISABLED=true`: bootstrap installs no-op tracing, logging and metrics.
    public var isDisabled: Bool
    /// Environment values that did not parse and were ignored; `bootstrap` logs them.
    public var environmentWarnings: [String]

    /// - Parameters:
    ///   - serviceName: else `OTEL_SERVICE_NAME`, else `service.name` in `OTEL_RESOURCE_ATTRIBUTES`,
    ///     else `unknown_service:<process name>`.
    ///   - agentEndpoint: else `OTEL_EXPORTER_OTLP_ENDPOINT`, else `http://127.0.0.1:4318`.
    ///   - samplingRatio: a parent-based ratio; else `OTEL_TRACES_SAMPLER`(`_ARG`), else 1.
    ///   - resourceAttributes: merged over `OTEL_RESOURCE_ATTRIBUTES` (these win per key).
    ///   - export: else defaults with `OTEL_EXPORTER_OTLP_TIMEOUT`, the queue sizes
    ///     (`OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BLRP_MAX_QUEUE_SIZE`), the batch size
    ///     (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BLRP_MAX_EXPORT_BATCH_SIZE`, at most a queue's size)
    ///     and the schedule delay (`OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BLRP_SCHEDULE_DELAY`); headers
    ///     and per-signal endpoints from the environment fill in what it does not set.
    ///   - metrics: else defaults with `OTEL_METRIC_EXPORT_INTERVAL`.
    ///   - propagators: else `OTEL_PROPAGATORS`, else trace context and baggage.
    ///   - environment: the variables to read; the process's by default.
    public init(
        serviceName: String? = nil,
        agentEndpoint: String? = nil,
        samplingRatio: Double? = nil,
        resourceAttributes: [String: String] = [:],
        logLevel: Logger.Level = .info,
        logMirror: LogMirrorDestination? = nil,
        metadataProvider: Logger.MetadataProvider? = nil,
        export: OTLPExporter.Configuration? = nil,
        metrics: PeriscopeMetrics.Configuration? = nil,
        shutdownTimeout: Duration = .seconds(5),
        propagators: Propagators? = nil,
        environment: OTelEnvironment = OTelEnvironment()
    ) {
        self.serviceName = serviceName ?? environment.serviceName ?? "unknown_service:\(ProcessInfo.processInfo.processName)"
        self.agentEndpoint = agentEndpoint ?? environment.endpoint ?? "http://127.0.0.1:4318"
        self.sampler = samplingRatio.map { ParentBasedRatioSampler(ratio: $0) } ?? environment.sampler ?? ParentBasedRatioSampler(ratio: 1)
        self.resourceAttributes = environment.resourceAttributes.merging(resourceAttributes) { _, explicit in explicit }
        self.logLevel = logLevel
        self.logMirror = logMirror
        self.metadataProvider = metadataProvider
        var exportConfiguration = export ?? Self.exportConfiguration(from: environment)
        exportConfiguration.headers = environment.headers.merging(exportConfiguration.headers) { _, explicit in explicit }
        exportConfiguration.signalEndpoints = environment.signalEndpoints.merging(exportConfiguration.signalEndpoints) { _, explicit in explicit }
        self.export = exportConfiguration
        self.metrics = metrics ?? environment.metricExportInterval.map { PeriscopeMetrics.Configuration(exportInterval: $0) } ?? PeriscopeMetrics.Configuration()
        self.shutdownTimeout = shutdownTimeout
        self.propagators = propagators ?? environment.propagators ?? .default
        self.isDisabled = environment.sdkDisabled
        self.environmentWarnings = environment.warnings
    }

    /// The exporter's settings when the code gives none: defaults, with what the environment sets.
    static func exportConfiguration(from environment: OTelEnvironment) -> OTLPExporter.Configuration {
        let defaults = OTLPExporter.Configuration()
        let spanQueue = environment.spanQueueSize ?? defaults.spanQueueCapacity
        let logQueue = environment.logQueueSize ?? defaults.logQueueCapacity
        // As the specification asks, a batch never exceeds the queue it is taken from (each queue
        // also caps its batches at its own capacity, `BoundedBuffer`).
        let batch = min(environment.maxExportBatchSize ?? defaults.maxBatchSize, max(spanQueue, logQueue))
        return OTLPExporter.Configuration(
            spanQueueCapacity: spanQueue, logQueueCapacity: logQueue, maxBatchSize: batch,
            exportInterval: environment.scheduleDelay ?? defaults.exportInterval,
            requestTimeout: environment.timeout ?? defaults.requestTimeout)
    }
}
