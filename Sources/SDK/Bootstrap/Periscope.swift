import Instrumentation
import Logging
import PeriscopeTelemetry
import ServiceLifecycle
import Synchronization
import Tracing

/// One instrumented process: the tracer, the log handler factory and the exporter, wired together.
///
/// `Periscope.bootstrap(_:)` installs it behind the standard facades (`Logger`, `withSpan`) so
/// business code never names a Periscope type. Run the returned value in a `ServiceGroup`: its
/// `run()` is the export loop, and graceful shutdown flushes what is queued.
public struct Periscope: Service, Sendable {
    /// The configuration this instance was built from.
    public let configuration: PeriscopeConfiguration
    /// The `Resource` every batch carries.
    public let resource: Resource
    /// The tracer installed by `bootstrap`, usable directly when not bootstrapped.
    public let tracer: PeriscopeTracer
    /// Queues and sends spans and logs; exposes drop/export counters.
    public let exporter: OTLPExporter
    private let mirror: JSONLinesMirror?

    private static let bootstrapped = Atomic<Bool>(false)

    /// Builds a Periscope without touching global state — for tests, or for processes that
    /// bootstrap swift-log/tracing themselves (use `tracer` and `makeLogHandler(label:)`).
    public init(configuration: PeriscopeConfiguration) throws {
        let endpoint = configuration.agentEndpoint
        let schemeFree = endpoint.hasPrefix("http://") ? endpoint.dropFirst(7)
            : endpoint.hasPrefix("https://") ? endpoint.dropFirst(8) : ""
        guard !schemeFree.isEmpty, !schemeFree.hasPrefix("/") else {
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
            sampler: ParentBasedRatioSampler(ratio: configuration.samplingRatio),
            sink: exporter,
            flush: { exporter.requestFlush() })
        self.mirror = try configuration.logMirror.map { try JSONLinesMirror(destination: $0) }
    }

    /// Builds Periscope and installs it as the process's tracer and log backend.
    ///
    /// swift-log and swift-distributed-tracing accept one bootstrap per process, so a second call
    /// throws `PeriscopeError.alreadyBootstrapped` instead of crashing.
    /// ```swift
    /// let periscope = try Periscope.bootstrap(PeriscopeConfiguration(serviceName: "checkout"))
    /// let group = ServiceGroup(services: [periscope, server], gracefulShutdownSignals: [.sigterm], logger: logger)
    /// ```
    public static func bootstrap(_ configuration: PeriscopeConfiguration) throws -> Periscope {
        let periscope = try Periscope(configuration: configuration)
        guard bootstrapped.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            throw PeriscopeError.alreadyBootstrapped
        }
        InstrumentationSystem.bootstrap(periscope.tracer)
        LoggingSystem.bootstrap(
            { label, provider in periscope.makeLogHandler(label: label, metadataProvider: provider) },
            metadataProvider: configuration.metadataProvider)
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
        await exporter.run(shutdownTimeout: configuration.shutdownTimeout)
    }

    /// Sends everything queued now, waiting at most `shutdownTimeout`.
    public func forceFlush() async {
        await exporter.forceFlush(timeout: configuration.shutdownTimeout)
    }
}
