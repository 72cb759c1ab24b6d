import ArgumentParser
import Foundation
import Hummingbird
import Logging
import PeriscopeConfig
import PeriscopeDelivery

/// `periscope-collector`: ingests OTLP, stores it, and answers the query API.
public struct CollectorCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "periscope-collector",
        abstract: "Ingest OTLP traces, logs and metrics; store and index them; serve the query API.",
        discussion: """
            Examples:
              periscope-collector --token-file tokens.txt
              periscope-collector --listen 127.0.0.1:4400 --data ./periscope-data --insecure-no-auth
              periscope-collector --config collector.yaml --check    # in CI: is the configuration (and its SLO file) valid?
            """)

    @Option(help: "YAML configuration file; flags override its keys.")
    var config: String?

    @Option(help: "Address for ingest and the query API (HOST:PORT; port 0 picks a free one). Default 0.0.0.0:4400.")
    var listen: String?

    @Option(name: .customLong("grpc-listen"), help: "OTLP/gRPC ingest address (HOST:PORT, or off). Default 0.0.0.0:4317.")
    var grpcListen: String?

    @Option(help: "Data directory. Default ./periscope-data.")
    var data: String?

    @Option(help: "A shared PostgreSQL store (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=require]) instead of the embedded SQLite store in --data.")
    var store: String?

    @Option(name: .customLong("store-replica"), help: "A hot standby of the PostgreSQL --store that answers trace, log, service and metric queries (signals and SLOs stay on --store).")
    var storeReplica: String?

    @Option(help: "SLO definitions (YAML).")
    var slo: String?

    @Option(name: .customLong("slo-evaluation-interval"), help: "How often SLOs are evaluated and alerts sent, 1s to 1h. Default 30s.")
    var sloEvaluationInterval: String?

    @Option(name: .customLong("alertmanager"), help: "An Alertmanager (http://HOST:PORT) that gets the SLO alerts; repeatable.")
    var alertmanager: [String] = []

    @Option(name: .customLong("token-file"), help: "File of accepted bearer tokens, one per line.")
    var tokenFile: String?

    @Flag(name: .customLong("insecure-no-auth"), help: "Accept requests without a token. Never on a shared network.")
    var insecureNoAuth = false

    @Option(help: "How long to keep data, e.g. 7d or 36h. Default 7d.")
    var retention: String?

    @Option(name: .customLong("index-attribute"), help: "A span attribute key to index for search, beyond the defaults; repeatable.")
    var indexAttribute: [String] = []

    @Option(name: .customLong("max-operations-per-service"), help: "Distinct operation names per service and day in signals and SLOs; more fold into 'periscope.other_operations'. Default 2000.")
    var maxOperationsPerService: Int?

    @Option(help: "full (default): an acknowledged batch survives power loss (fsync per commit); normal: it survives a crash of the collector, and a power loss may take the last moments.")
    var sync: String?

    @Option(name: .customLong("max-concurrent-requests"), help: "Requests answered at once; more get 503 with Retry-After. Default 16.")
    var maxConcurrentRequests: Int?

    @Option(name: .customLong("max-body-bytes"), help: "Largest OTLP request body accepted, e.g. 16MiB (default).")
    var maxBodyBytes: String?

    @Option(name: .customLong("max-decompressed-bytes"), help: "Largest body after decompression, e.g. 64MiB (default).")
    var maxDecompressedBytes: String?

    @Option(name: .customLong("max-inflight-bytes"), help: "Bodies of all requests held at once, compressed and decompressed; past it a request gets 503 and Retry-After. Default 4 × (max-body-bytes + max-decompressed-bytes).")
    var maxInFlightBytes: String?

    @Option(name: .customLong("max-log-search-records"), help: "Log records one log search decodes before it answers the part of its range it searched whole, with where to resume (SQLite store). Default 10000000.")
    var maxLogSearchRecords: Int?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Flag(help: "Check the configuration, token file and SLO file, print what they set, and exit (0 valid, 64 not) without starting.")
    var check = false

    public init() {}

    public func run() async throws {
        // A write past a file size limit fails with EFBIG (SQLite: "database or disk is full",
        // answered 503 and retried) instead of killing the collector.
        signal(SIGXFSZ, SIG_IGN)
        let configuration: CollectorConfiguration
        do {
            configuration = try resolve()
            if check {
                print(configuration.checkSummary)
                return
            }
            try configuration.listen.checkCanListen(flag: "--listen")
            if configuration.grpcListenIsExplicit { try configuration.grpcListen?.checkCanListen(flag: "--grpc-listen") }
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        var logger = Logger(label: "periscope-collector")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let (app, _) = try CollectorApplication.make(configuration: configuration, logger: logger)
        try await app.runService()
    }

    func resolve() throws -> CollectorConfiguration {
        let file = try config.map(CollectorConfiguration.File.load)
        var configuration = CollectorConfiguration()
        if let text = listen ?? file?.listen {
            guard let address = ListenAddress(text) else { throw ConfigurationError("--listen must be HOST:PORT, got '\(text)'") }
            configuration.listen = address
        }
        if let text = grpcListen ?? file?.grpcListen {
            configuration.grpcListen = try ListenAddress.optional(text, flag: "--grpc-listen")
            configuration.grpcListenIsExplicit = true
        } else {
            // A collector bound to loopback keeps gRPC on loopback too.
            configuration.grpcListen = ListenAddress(host: configuration.listen.host, port: 4317)
        }
        if let data = data ?? file?.data { configuration.dataDirectory = data }
        if let url = store ?? file?.store {
            do {
                configuration.postgres = try PostgresLocation(url: url)
            } catch {
                throw ConfigurationError(error.description)
            }
        }
        // The file's replica goes with the file's store: a --store flag pointing elsewhere drops it.
        if let url = storeReplica ?? (store == nil ? file?.storeReplica : nil) {
            guard configuration.postgres != nil else {
                throw ConfigurationError("--store-replica needs a PostgreSQL --store (postgres://…) whose standby it is")
            }
            do {
                configuration.postgresReplica = try PostgresLocation(url: url)
            } catch {
                throw ConfigurationError("--store-replica: " + error.description)
            }
        }
        if let text = retention ?? file?.retention {
            guard let nanos = DurationText.nanos(text), nanos >= 3_600_000_000_000 else {
                throw ConfigurationError("--retention must be a duration of at least 1h, like 7d or 36h; got '\(text)'")
            }
            configuration.retentionNanos = nanos
        }
        if let path = slo ?? file?.slo {
            do {
                configuration.objectives = try SLOFile.load(path: path)
            } catch let error as SLOFile.Invalid {
                throw ConfigurationError("SLO file '\(path)': \(error)")
            }
        }
        if let text = sloEvaluationInterval ?? file?.sloEvaluationInterval {
            guard let nanos = DurationText.nanos(text), (1_000_000_000...3_600_000_000_000).contains(nanos) else {
                throw ConfigurationError("--slo-evaluation-interval (slo_evaluation_interval) must be a duration from 1s to 1h, like 30s; got '\(text)'")
            }
            configuration.sloEvaluationInterval = .nanoseconds(Int64(nanos))
        }
        // Flags replace the file's list rather than adding to it, as every other flag does.
        configuration.alertmanagers = alertmanager.isEmpty ? file?.alertmanagers ?? [] : alertmanager
        for url in configuration.alertmanagers {
            if let problem = EndpointURL.problem(url) {
                throw ConfigurationError("--alertmanager (alertmanagers) '\(url)': \(problem); give its base URL, like http://127.0.0.1:9093")
            }
            if let components = URLComponents(string: url), components.user != nil || components.password != nil {
                throw ConfigurationError("--alertmanager (alertmanagers): credentials in the URL are not sent, and Alertmanager's own authentication is not supported here; give the URL without them and keep Alertmanager on a trusted network")
            }
            if let components = URLComponents(string: url), components.query != nil || components.fragment != nil {
                throw ConfigurationError("--alertmanager (alertmanagers) '\(url)': give the base URL without a query or fragment, like http://127.0.0.1:9093 (the API path is added)")
            }
        }
        // Each Alertmanager once: a URL given twice would get every alert twice.
        configuration.alertmanagers = configuration.alertmanagers.reduce(into: []) { unique, url in if !unique.contains(url) { unique.append(url) } }
        configuration.indexedAttributes.formUnion((file?.indexAttributes ?? []) + indexAttribute)
        if let text = sync ?? file?.sync {
            guard let durability = StoreDurability(rawValue: text) else { throw ConfigurationError("--sync must be full or normal; got '\(text)'") }
            configuration.durability = durability
        }
        if let limit = maxConcurrentRequests ?? file?.maxConcurrentRequests {
            guard limit >= 1 else { throw ConfigurationError("--max-concurrent-requests must be at least 1; got \(limit)") }
            configuration.maxConcurrentRequests = limit
        }
        if let limit = maxLogSearchRecords ?? file?.maxLogSearchRecords {
            guard limit >= 1 else { throw ConfigurationError("--max-log-search-records (max_log_search_records) must be at least 1; got \(limit)") }
            configuration.maxLogSearchRecords = limit
        }
        if let limit = maxOperationsPerService ?? file?.maxOperationsPerService {
            guard limit >= 1 else { throw ConfigurationError("--max-operations-per-service must be at least 1; got \(limit)") }
            configuration.maxOperationsPerService = limit
        }
        try configuration.bodyLimits.set(
            body: (maxBodyBytes, file?.maxBodyBytes), decompressed: (maxDecompressedBytes, file?.maxDecompressedBytes),
            inFlight: (maxInFlightBytes, file?.maxInFlightBytes),
            names: ("--max-body-bytes (max_body_bytes)", "--max-decompressed-bytes (max_decompressed_bytes)", "--max-inflight-bytes (max_inflight_bytes)"))
        let noAuth = insecureNoAuth || (file?.insecureNoAuth ?? false)
        let tokenPath = tokenFile ?? file?.tokenFile
        switch (tokenPath, noAuth) {
        case (let path?, false): configuration.tokens = try TokenFile.read(path)
        case (nil, true): configuration.tokens = nil
        case (_?, true): throw ConfigurationError("give either --token-file or --insecure-no-auth, not both")
        case (nil, false):
            throw ConfigurationError("the collector needs --token-file FILE (one token per line), or --insecure-no-auth to accept anyone")
        }
        return configuration
    }
}
