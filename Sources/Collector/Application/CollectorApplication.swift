import Foundation
import Hummingbird
import Logging
import PeriscopeModel
import PeriscopeServer
import ServiceLifecycle

/// Builds the collector's HTTP application: OTLP ingest and the query API on one port,
/// behind bearer-token auth unless it was explicitly turned off.
enum CollectorApplication {
    static func make(
        configuration: CollectorConfiguration, logger: Logger
    ) throws -> (some ApplicationProtocol, any TelemetryStore) {
        let store: any TelemetryStore = if let location = configuration.postgres {
            try PostgresStore(
                location: location, replica: configuration.postgresReplica, indexedAttributes: configuration.indexedAttributes,
                objectives: configuration.objectives, maxOperationsPerService: configuration.maxOperationsPerService, logger: logger)
        } else {
            try SQLiteStore(
                directory: configuration.dataDirectory, indexedAttributes: configuration.indexedAttributes,
                objectives: configuration.objectives, maxOperationsPerService: configuration.maxOperationsPerService,
                durability: configuration.durability,
                expiredBefore: RetentionService.cutoff(nowUnixNano: WallClock.nowUnixNano(), retentionNanos: configuration.retentionNanos))
        }
        let ingestInFlight = InFlightCounter()
        let budget = RequestMemoryBudget(for: configuration.bodyLimits)
        let counters = IngestCounters()
        let alerting = AlertingCounters(alertmanagers: configuration.alertmanagers)
        let router = Self.router(
            store: store, configuration: configuration, ingestInFlight: ingestInFlight, budget: budget, counters: counters, alerting: alerting,
            logger: logger)
        let httpBound = BoundAddress(configured: configuration.listen)
        let grpcBound = configuration.grpcListen.map(BoundAddress.init(configured:))
        var services: [any Service] = [
            RetentionService(store: store, retentionNanos: configuration.retentionNanos, logger: logger),
            RollupFlushService(store: store, interval: store.backgroundFlushInterval, logger: logger),
            SLOEvaluationService(
                store: store, interval: configuration.sloEvaluationInterval,
                alertmanager: configuration.alertmanagers.isEmpty
                    ? nil : AlertmanagerNotifier(endpoints: configuration.alertmanagers, counters: alerting, logger: logger),
                counters: alerting, logger: logger),
        ]
        if let address = configuration.grpcListen, let grpcBound {
            let ingest = IngestRoutes(
                store: store, ingest: Self.ingest(configuration, budget: budget, counters: counters), retentionNanos: configuration.retentionNanos,
                logger: logger)
            let grpc = OTLPGRPCService(
                ingest: ingest.ingest, tokens: configuration.tokens.map(BearerTokens.init), inFlight: ingestInFlight,
                maxConcurrent: configuration.maxConcurrentRequests, logger: logger
            ) { await ingest.store($0, batchID: nil) }
            services.append(GRPCServerService(
                name: "periscope-collector", address: address, flag: "--grpc-listen", required: configuration.grpcListenIsExplicit,
                maxMessageBytes: configuration.bodyLimits.maxDecompressedBytes,
                services: [grpc],
                wrongProtocolHint: {
                    "this port takes OTLP/gRPC (HTTP/2); send OTLP/HTTP and queries to the collector's --listen address (\(httpBound))"
                },
                bound: grpcBound,
                logger: logger))
        }
        let app = Application(
            router: router,
            server: .otlpHTTP(
                configuration: .init(idleTimeout: ConcurrencyLimit.idleTimeout),
                grpc: grpcBound, program: "collector's", grpcFlag: "--grpc-listen", takes: "OTLP/HTTP and queries",
                logger: logger),
            configuration: .init(
                address: .hostname(configuration.listen.host, port: configuration.listen.port),
                serverName: "periscope-collector"),
            services: services,
            onServerRunning: { channel in ServerAnnouncement.announce("periscope-collector", channel: channel, bound: httpBound) },
            logger: logger)
        return (app, store)
    }

    /// The collector's routes and middleware, in the order requests meet them: the concurrency
    /// limit, bearer auth (unless turned off), `/healthz`, OTLP ingest, the query API,
    /// Prometheus's `/metrics`, Jaeger's query API and the web UI; a known
    /// path asked with another method is answered 405.
    static func router(
        store: any TelemetryStore, configuration: CollectorConfiguration,
        ingestInFlight: InFlightCounter = InFlightCounter(), budget: RequestMemoryBudget? = nil, counters: IngestCounters = IngestCounters(),
        alerting: AlertingCounters = AlertingCounters(), logger: Logger
    ) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ConcurrencyLimitMiddleware(maxConcurrent: configuration.maxConcurrentRequests, ingest: ingestInFlight, counters: counters))
        if let tokens = configuration.tokens {
            // The web UI's pages check their own session cookie (a browser cannot send the header).
            router.add(middleware: BearerTokenMiddleware(tokens: tokens, exempt: { $0 == "/healthz" || WebUIRoutes.isUIPath($0) }))
        }
        router.get("healthz") { _, _ in "ok" }
        IngestRoutes(
            store: store, ingest: Self.ingest(configuration, budget: budget, counters: counters), retentionNanos: configuration.retentionNanos, logger: logger
        ).register(on: router)
        let queries = QueryRoutes(store: store, logger: logger, logReadBudget: configuration.maxLogSearchRecords)
        queries.register(on: router)
        queries.registerMetrics(on: router, ingest: counters, alerting: alerting)
        JaegerRoutes(queries: queries).register(on: router)
        WebUIRoutes(queries: queries, tokens: configuration.tokens.map(BearerTokens.init), sessions: WebSessions()).register(on: router)
        router.add(middleware: MethodNotAllowedMiddleware(for: router))
        return router
    }

    /// OTLP decoding with the configured limits, for HTTP and gRPC alike.
    private static func ingest(_ configuration: CollectorConfiguration, budget: RequestMemoryBudget?, counters: IngestCounters) -> OTLPIngest {
        var ingest = OTLPIngest(limits: configuration.bodyLimits, budget: budget)
        ingest.counters = counters
        return ingest
    }
}
