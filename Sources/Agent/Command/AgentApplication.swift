import AsyncHTTPClient
import Hummingbird
import Logging
import PeriscopeDiskQueue
import PeriscopeServer
import ServiceLifecycle

/// The running agent: OTLP receiver → queue writer (group commit) → durable queue → shipper → collector, as
/// services in one group. On SIGTERM/SIGINT the receiver stops first, then the shipper
/// drains the queue until it is empty or the drain deadline passes.
struct AgentApplication {
    let configuration: AgentConfiguration
    let queue: DiskQueue
    let shipper: Shipper
    let sink: QueueWriter
    let logger: Logger
    let httpClient: HTTPClient

    init(configuration: AgentConfiguration, httpClient: HTTPClient, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.httpClient = httpClient
        queue = try DiskQueue(directory: configuration.queueDirectory, configuration: configuration.queue, logger: logger)
        let clients = configuration.collectorURLs.map { OTLPUploader(endpoint: $0, token: configuration.token, httpClient: httpClient) }
        shipper = Shipper(
            queue: queue, clients: clients, deadLetters: DeadLetterBox(directory: configuration.deadLetterDirectory, maxBytes: configuration.deadLetterMaxBytes),
            concurrency: configuration.shipperConcurrency, drainDeadline: configuration.drainDeadline, logger: logger)
        sink = QueueWriter(queue: queue, configuration: configuration.batching, maxRequestBytes: configuration.bodyLimits.maxDecompressedBytes)
    }

    func run() async throws {
        let router = Router()
        let ingestInFlight = InFlightCounter()
        router.add(middleware: ConcurrencyLimitMiddleware(maxConcurrent: configuration.maxConcurrentRequests, ingest: ingestInFlight))
        router.get("healthz") { _, _ in "ok" }
        // Received requests pass the processors stage; tailed lines were redacted as they were read.
        let receivedLogRedaction = configuration.redaction.makeRedactor()
        let processed = LogRedaction(redactor: receivedLogRedaction, next: sink)
        let receiver = OTLPReceiver(
            ingest: OTLPIngest(limits: configuration.bodyLimits, budget: RequestMemoryBudget(for: configuration.bodyLimits)), sink: processed, logger: logger)
        receiver.register(on: router)
        let tailCounters = configuration.tail.sources.isEmpty ? nil : TailCounters()
        let telemetry = AgentSelfTelemetry(
            queue: queue, shipper: shipper, interval: configuration.selfTelemetryInterval ?? .seconds(60), serviceName: configuration.serviceName,
            tail: tailCounters, receivedLogRedaction: receivedLogRedaction, receiveBudget: receiver.ingest.budget, logger: logger)
        // The same metrics for Prometheus to scrape, whether or not they are also shipped.
        router.get("metrics") { _, _ in
            Response.bytes(MetricExposition.text(telemetry.metrics()), contentType: MetricExposition.contentType)
        }
        router.add(middleware: MethodNotAllowedMiddleware(for: router))
        let httpBound = BoundAddress(configured: configuration.otlpListen)
        let grpcBound = configuration.otlpGRPCListen.map(BoundAddress.init(configured:))
        let server = Application(
            router: router,
            server: .otlpHTTP(
                configuration: .init(idleTimeout: ConcurrencyLimit.idleTimeout),
                grpc: grpcBound, program: "agent's", grpcFlag: "--otlp-grpc-listen", takes: "OTLP/HTTP",
                logger: logger),
            configuration: .init(
                address: .hostname(configuration.otlpListen.host, port: configuration.otlpListen.port),
                serverName: "periscope-agent"),
            onServerRunning: { channel in ServerAnnouncement.announce("periscope-agent", channel: channel, bound: httpBound) },
            logger: logger)
        var services: [any Service] = [shipper]
        if configuration.selfTelemetryInterval != nil { services.append(telemetry) }
        // The tailer: after the shipper, before the server — so it stops before the shipper drains.
        if let tailCounters {
            services.append(try TailService(
                configuration: configuration, sink: sink, redactor: configuration.redaction.makeRedactor(), counters: tailCounters, logger: logger))
        }
        if let interval = configuration.hostMetricsInterval {
            services.append(HostMetricsSampler(
                sink: sink, interval: interval, watchedPID: configuration.watchPID, serviceName: configuration.serviceName, logger: logger))
        }
        if case .interval(let interval) = configuration.queue.fsync {
            services.append(PeriodicTask(interval: interval) { [queue, logger] in
                do { try queue.syncIfDirty() } catch { logger.error("queue sync failed: \(error); the last \(interval) of batches may not survive a power loss") }
            })
        }
        if let address = configuration.otlpGRPCListen, let grpcBound {
            let grpc = OTLPGRPCService(
                ingest: receiver.ingest, inFlight: ingestInFlight, maxConcurrent: configuration.maxConcurrentRequests, logger: logger
            ) { await receiver.accept($0) }
            services.append(GRPCServerService(
                name: "periscope-agent", address: address, flag: "--otlp-grpc-listen", required: configuration.otlpGRPCListenIsExplicit,
                maxMessageBytes: configuration.bodyLimits.maxDecompressedBytes,
                services: [grpc],
                wrongProtocolHint: { "this port takes OTLP/gRPC (HTTP/2); send OTLP/HTTP to the agent's --otlp-listen address (\(httpBound))" },
                bound: grpcBound,
                logger: logger))
        }
        services.append(server)
        // Shutdown runs in reverse: the receiver stops taking requests, then the shipper drains.
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        // Whatever was appended is synced, even when the group ended with an error.
        defer {
            do { try queue.syncIfDirty() } catch { logger.error("final queue sync failed: \(error)") }
        }
        try await group.run()
    }
}
