import Foundation
import PeriscopeConfig
import PeriscopeServer
import Yams

/// Everything the collector needs to start, from `collector.yaml` and flags (flags win).
struct CollectorConfiguration: Sendable, Equatable {
    var listen = ListenAddress(host: "0.0.0.0", port: 4400)
    /// OTLP/gRPC ingest; `nil` turns it off. Unless asked for, port 4317 on `listen`'s host.
    var grpcListen: ListenAddress? = ListenAddress(host: "0.0.0.0", port: 4317)
    /// Whether the gRPC address was asked for: then a port that cannot be bound stops the
    /// collector; the default address, taken by something else, is only logged.
    var grpcListenIsExplicit = false
    var dataDirectory = "./periscope-data"
    /// A shared PostgreSQL store instead of the embedded SQLite store in `dataDirectory`.
    var postgres: PostgresLocation?
    /// A hot standby of `postgres` that answers the trace, log, service and metric queries.
    var postgresReplica: PostgresLocation?
    /// Accepted bearer tokens; `nil` only with `--insecure-no-auth`.
    var tokens: [String]?
    var bodyLimits = BodyLimits()
    /// How long data is kept; whole days are dropped once older.
    var retentionNanos: UInt64 = 7 * 86_400 * 1_000_000_000
    /// Span attributes indexed for search, beyond service and operation.
    var indexedAttributes = SQLiteStore.defaultIndexedAttributes
    /// SLOs from `--slo`.
    var objectives: [ServiceLevelObjective] = []
    /// How often SLOs are evaluated, their alert changes recorded and sent to Alertmanager.
    var sloEvaluationInterval = Duration.seconds(30)
    /// Alertmanagers' base URLs that get the SLO alerts; none by default.
    var alertmanagers: [String] = []
    /// Distinct operation names per service and day in signals; the rest fold into one row.
    var maxOperationsPerService = OperationLimit.defaultMaxPerService
    /// Whether a 2xx survives power loss (`full`) or only a crash of the process (`normal`).
    var durability = StoreDurability.full
    /// Requests answered at once; more get 503 with Retry-After.
    var maxConcurrentRequests = ConcurrencyLimit.defaultMaxConcurrent
    /// Records one log search decodes before it answers what it searched whole (`LogQuery.readBudget`).
    var maxLogSearchRecords = maxLogRecordsRead

    /// The keys of `collector.yaml`, each also a flag.
    struct File: Decodable {
        var listen: String?
        var grpcListen: String?
        var data: String?
        var store: String?
        var storeReplica: String?
        var tokenFile: String?
        var insecureNoAuth: Bool?
        var retention: String?
        var slo: String?
        var sloEvaluationInterval: String?
        var alertmanagers: [String]?
        var maxBodyBytes: String?
        var maxDecompressedBytes: String?
        var maxInFlightBytes: String?
        var indexAttributes: [String]?
        var maxOperationsPerService: Int?
        var maxConcurrentRequests: Int?
        var maxLogSearchRecords: Int?
        var sync: String?

        enum CodingKeys: String, CodingKey {
            case maxOperationsPerService = "max_operations_per_service"
            case maxConcurrentRequests = "max_concurrent_requests"
            case maxLogSearchRecords = "max_log_search_records"
            case sync
            case listen, data, store, retention, slo, alertmanagers
            case sloEvaluationInterval = "slo_evaluation_interval"
            case grpcListen = "grpc_listen"
            case storeReplica = "store_replica"
            case indexAttributes = "index_attributes"
            case tokenFile = "token_file"
            case insecureNoAuth = "insecure_no_auth"
            case maxBodyBytes = "max_body_bytes"
            case maxDecompressedBytes = "max_decompressed_bytes"
            case maxInFlightBytes = "max_inflight_bytes"
        }

        static func load(_ path: String) throws -> File {
            try ConfigurationFile.load(File.self, from: path)
        }
    }
}
