import Instrumentation
import Logging
import Metrics
import PeriscopeDelivery
import PeriscopeModel
import ServiceLifecycle
import Synchronization
import Tracing

/// One instrumented process: the tracer, the log handler factory, the metrics factory and the
/// exporter, wired together.
///
/// `Periscope.bootstrap(_:)` installs it behind the standard facades (`Logger`, `withSpan`,
/// `Counter`/`Timer`/`Recorder`/`Meter`) so business code never names a Periscope type. Run the
/// returned value in a `ServiceGroup`: its `run()` is the export loop (spans and logs every
/// second, metrics every ``PeriscopeConfiguration/metrics`` interval), and graceful shutdown
/// flushes what is queued and exports the final metric totals.
public struct Periscope: Service, Sendable {
    /// The configuration this instance was built from.
    public let configuration: PeriscopeConfiguration
    /// The `Resource` every batch carries.
    public let resource: Resource
    /// The tracer installed by `bootstrap`, usable directly when not bootstrapped.
    public let tracer: PeriscopeTracer
    /// Queues and sends spans, logs and metrics; exposes drop/export counters.
    public let exporter: OTLPExporter
    /// The swift-metrics backend installed by `bootstrap`, usable directly when not bootstrapped.
    public let metrics: PeriscopeMetrics
    private let mirror: JSONLinesMirror?

    private static let bootstrapped = Atomic<Bool>(false)

    /// Builds a Periscope without touching global state — for tests, or for processes that
    /// bootstrap swift-log/tracing themselves (use `tracer` and `makeLogHandler(label:)`).
    public init(configuration: PeriscopeConfiguration) throws {
        let endpoint = configuration.agentEndpoint
        let schemeFree = endpoint.hasPrefix("http://") ? endpoint.dropFirst(7)
            : endpoint.hasPrefix("https://") ? endpoint.dropFirst(8) : ""
        guard !schemeFree.isEmpty, !schemeFree.hasPrefix("/"), EndpointURL.problem(endpoint) == nil else {
            throw PeriscopeError.invalidEndpoint(endpoint)
        }
        self.configuration = configuration
        self.resource = ProcessResource.make(
            serviceName: configuration.serviceName, attributes: configuration.resourceAttributes)
        var exportConfiguration = configuration.export
        exportConfiguration.endpoint = endpoint
        let exporter = OTLPExporter(resource: resource, configuration: exportConfiguration)
        self.exporter = exporter
        self.tracer = PeriscopeTracer(
            sampler: configuration.sampler, sink: exporter, propagators: configuration.propagators,
            flush: { exporter.requestFlush() })
        self.metrics = PeriscopeMetrics(configuration: configuration.metrics)
        self.mirror = try configuration.logMirror.map { try JSONLinesMirror(destination: $0) }
    }

    /// Builds Periscope and installs it as the process's tracer, log backend and metrics backend
    /// (`InstrumentationSystem`, `LoggingSystem`, `MetricsSystem`).
    ///
    /// swift-log, swift-metrics and swift-distributed-tracing accept one bootstrap per process, so a second call
    /// throws `PeriscopeError.alreadyBootstrapped` instead of crashing.
    /// ```swift
    /// let periscope = try Periscope.bootstrap(PeriscopeConfiguration(serviceName: "checkout"))
    /// let group = ServiceGroup(services: [periscope, server], gracefulShutdownSignals: [.sigterm], logger: logger)
    /// ```
    ///
    /// With `OTEL_SDK_DISABLED=true` it installs no-op backends instead, and `run()` exports nothing.
    public static func bootstrap(_ configuration: PeriscopeConfiguration) throws -> Periscope {
        let periscope = try Periscope(configuration: configuration)
        guard bootstrapped.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            throw PeriscopeError.alreadyBootstrapped
        }
        if configuration.isDisabled {
            InstrumentationSystem.bootstrap(NoOpTracer())
            LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
            MetricsSystem.bootstrap(NOOPMetricsHandler.instance)
            return periscope
        }
        InstrumentationSystem.bootstrap(periscope.tracer)
        LoggingSystem.bootstrap(
            { label, provider in periscope.makeLogHandler(label: label, metadataProvider: provider) },
            metadataProvider: configuration.metadataProvider)
        MetricsSystem.bootstrap(periscope.metrics)
        let logger = Logger(label: "periscope")
        for warning in configuration.environmentWarnings { logger.warning("\(warning)") }
        return periscope
    }

    /// A log handler that reports to this Periscope; what `LoggingSystem` gets after `bootstrap`.
    public func makeLogHandler(label: String, metadataProvider: Logger.MetadataProvider? = nil) -> PeriscopeLogHandler {
        PeriscopeLogHandler(
            label: label, sink: exporter, logLevel: configuration.logLevel,
            metadataProvider: metadataProvider ?? configuration.metadataProvider,
            mirror: mirror, serviceName: configuration.serviceName)
    }

    /// Runs the export loop until graceful shutdown or cancellation, then flushes what is
    /// queued, bounded by `configuration.shutdownTimeout`.
    public func run() async throws {
        if configuration.isDisabled {
            try? await gracefulShutdown()
            return
        }
        let exporter = self.exporter
        let metricsLoop = MetricsExportLoop(metrics: metrics, exporter: exporter)
        let timeout = configuration.shutdownTimeout
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await exporter.run(shutdownTimeout: timeout) }
            group.addTask { await metricsLoop.run(shutdownTimeout: timeout) }
        }
        if let mirror { await mirror.drained(timeout: timeout) }
    }

    /// Sends everything queued now, and the current metric totals, waiting at most `shutdownTimeout`.
    public func forceFlush() async {
        let metricsLoop = MetricsExportLoop(metrics: metrics, exporter: exporter)
        let timeout = configuration.shutdownTimeout
        async let spansAndLogs: Void = exporter.forceFlush(timeout: timeout)
        async let metricTotals: Bool = withDeadline(timeout, on: exporter.timeline) { await metricsLoop.exportNow() }
        _ = await (spansAndLogs, metricTotals)
    }

    /// The exporter's counters plus the metric series refused by the series limit.
    public var statistics: Statistics {
        Statistics(exporter: exporter.statistics, droppedMetricSeries: metrics.droppedSeries, droppedMirrorLines: mirror?.droppedLines ?? 0)
    }

    /// What the SDK has sent and dropped so far; `Codable` so a service can expose it (e.g. on a
    /// debug route) and a test or an operator can see that drops are counted.
    public struct Statistics: Sendable, Hashable, Codable {
        /// Span, log and metric export counters.
        public var exporter: OTLPExporter.Statistics
        /// Requests for new metric series refused by `PeriscopeMetrics.Configuration.maxSeries`.
        public var droppedMetricSeries: Int
        /// JSON log-mirror lines dropped because their destination did not keep up.
        public var droppedMirrorLines: Int
    }
}
