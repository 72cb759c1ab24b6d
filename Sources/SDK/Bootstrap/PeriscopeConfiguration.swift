import Logging

/// Everything `Periscope.bootstrap` needs; only the service name is required.
public struct PeriscopeConfiguration: Sendable {
    /// `service.name`: how traces, logs and golden signals are grouped.
    public var serviceName: String
    /// The agent's OTLP/HTTP base URL (the sidecar listens on `http://127.0.0.1:4318`).
    public var agentEndpoint: String
    /// The share of root traces recorded, 0...1; children follow their parent's decision.
    public var samplingRatio: Double
    /// Extra resource attributes, e.g. `deployment.environment`.
    public var resourceAttributes: [String: String]
    /// The level of loggers created after bootstrap.
    public var logLevel: Logger.Level
    /// An optional JSON-lines copy of every log record.
    public var logMirror: LogMirrorDestination?
    /// Metadata added to every log record (e.g. a correlation ID from the request context).
    public var metadataProvider: Logger.MetadataProvider?
    /// Queues, batching and retries.
    public var export: OTLPExporter.Configuration
    /// Metrics export interval (default 10 s), histogram buckets and the series limit.
    public var metrics: PeriscopeMetrics.Configuration
    /// How long the final flush may take at shutdown.
    public var shutdownTimeout: Duration

    /// Defaults: the local agent, every trace sampled, `info` logs, no mirror, metrics every 10 s.
    public init(
        serviceName: String,
        agentEndpoint: String = "http://127.0.0.1:4318",
        samplingRatio: Double = 1.0,
        resourceAttributes: [String: String] = [:],
        logLevel: Logger.Level = .info,
        logMirror: LogMirrorDestination? = nil,
        metadataProvider: Logger.MetadataProvider? = nil,
        export: OTLPExporter.Configuration = OTLPExporter.Configuration(),
        metrics: PeriscopeMetrics.Configuration = PeriscopeMetrics.Configuration(),
        shutdownTimeout: Duration = .seconds(5)
    ) {
        self.serviceName = serviceName
        self.agentEndpoint = agentEndpoint
        self.samplingRatio = samplingRatio
        self.resourceAttributes = resourceAttributes
        self.logLevel = logLevel
        self.logMirror = logMirror
        self.metadataProvider = metadataProvider
        self.export = export
        self.metrics = metrics
        self.shutdownTimeout = shutdownTimeout
    }
}
