import Foundation
import PeriscopeConfig
import PeriscopeDiskQueue
import PeriscopeLogLines
import PeriscopeServer
import Yams

/// Everything the agent needs to start, from `agent.yaml` and flags (flags win).
struct AgentConfiguration: Sendable, Equatable {
    var otlpListen = ListenAddress(host: "127.0.0.1", port: 4318)
    /// The OTLP/gRPC receiver; `nil` turns it off.
    var otlpGRPCListen: ListenAddress? = ListenAddress(host: "127.0.0.1", port: 4317)
    /// Whether the gRPC address was asked for: then a port that cannot be bound stops the agent;
    /// the default address, taken by something else, is only logged.
    var otlpGRPCListenIsExplicit = false
    /// Where batches go: one collector, or several that share a store (spans by trace ID,
    /// logs and metrics spread, a failing one skipped until it answers again).
    var collectorURLs = ["http://127.0.0.1:4400"]
    var token: String?
    var dataDirectory = "./periscope-agent-data"
    var serviceName: String?
    /// `tail:`; `--tail GLOB` adds a JSON source starting at the end.
    var tail = TailConfiguration()
    /// `redact:` and `redact_defaults:`: applied to every log record, tailed or received over OTLP.
    var redaction = RedactionConfiguration()
    var tailCheckpointPath: String { (dataDirectory as NSString).appendingPathComponent(Self.tailCheckpointName) }
    /// Host (and `watch_pid`) metrics from /proc; `nil` turns them off.
    var hostMetricsInterval: Duration? = .seconds(10)
    var watchPID: Int32?
    var bodyLimits = BodyLimits()
    /// OTLP requests answered at once; more get 503 with Retry-After.
    var maxConcurrentRequests = ConcurrencyLimit.defaultMaxConcurrent
    var queue = DiskQueueConfiguration()
    var batching = BatchingConfiguration()
    var shipperConcurrency = 4
    var drainDeadline = Duration.seconds(5)
    /// How often the agent reports its own metrics; `nil` turns them off.
    var selfTelemetryInterval: Duration? = .seconds(10)

    var queueDirectory: String { (dataDirectory as NSString).appendingPathComponent(Self.queueDirectoryName) }
    var deadLetterDirectory: String { (dataDirectory as NSString).appendingPathComponent(Self.deadLetterDirectoryName) }
    /// What the agent keeps in its data directory (never tailed: `OwnDirectoryCheck`).
    static let tailCheckpointName = "tail-checkpoints.json"
    static let queueDirectoryName = "queue"
    static let deadLetterDirectoryName = "dead-letters"
    /// Most the dead-letter box may hold; its oldest letters make room past that.
    var deadLetterMaxBytes = 64 << 20

    /// Descriptors the agent needs besides the files it tails: two per queue segment the queue
    /// may hold, one per OTLP request answered at once (twice: HTTP and gRPC), the shipper's
    /// connections, and 128 for the runtime, listeners, checkpoints and dead letters.
    var descriptorsBesidesTailing: Int {
        // Configured numbers: saturating, so a huge `max_concurrent_requests` means "all of them", not a trap.
        let segments = queue.maxBytes / max(1, queue.segmentBytes) + 2
        return [segments, maxConcurrentRequests, shipperConcurrency].reduce(128) { total, count in
            let (twice, overflow) = count.multipliedReportingOverflow(by: 2)
            let (sum, overflowed) = total.addingReportingOverflow(twice)
            return overflow || overflowed ? Int.max : sum
        }
    }

    /// The keys of `agent.yaml`, each also a flag.
    struct File: Decodable {
        var otlpListen: String?
        var otlpGRPCListen: String?
        var collector: String?
        var tokenFile: String?
        var data: String?
        var service: String?
        var tail: [TailSourceEntry]?  // globs or objects
        var redact: [RedactionRuleEntry]?
        var redactDefaults: Bool?
        var watchPid: Int32?
        var hostMetricsInterval: String?
        var maxBodyBytes: String?
        var maxDecompressedBytes: String?
        var maxInFlightBytes: String?
        var queue: Queue?
        var batch: Batch?
        var shipper: Shipper?
        var selfTelemetryInterval: String?
        var maxLogAge: String?
        var maxConcurrentRequests: Int?
        var maxLogFuture: String?

        struct Queue: Decodable {
            var maxSize: String?
            var segmentSize: String?
            var fsync: String?
            var whenFull: String?

            enum CodingKeys: String, CodingKey {
                case fsync
                case maxSize = "max_size"
                case segmentSize = "segment_size"
                case whenFull = "when_full"
            }
        }

        struct Batch: Decodable {
            var maxItems: Int?
            var maxBytes: String?
            var maxDelay: String?

            enum CodingKeys: String, CodingKey {
                case maxItems = "max_items"
                case maxBytes = "max_bytes"
                case maxDelay = "max_delay"
            }
        }

        struct Shipper: Decodable {
            var concurrency: Int?
            var drainTimeout: String?
            var deadLetterMaxSize: String?

            enum CodingKeys: String, CodingKey {
                case concurrency
                case drainTimeout = "drain_timeout"
                case deadLetterMaxSize = "dead_letter_max_size"
            }
        }

        enum CodingKeys: String, CodingKey {
            case collector, data, service, tail, queue, batch, shipper
            case selfTelemetryInterval = "self_telemetry_interval"
            case maxLogAge = "max_log_age", maxLogFuture = "max_log_future"
            case maxConcurrentRequests = "max_concurrent_requests"
            case redact, redactDefaults = "redact_defaults", watchPid = "watch_pid", hostMetricsInterval = "host_metrics_interval"
            case otlpListen = "otlp_listen"
            case otlpGRPCListen = "otlp_grpc_listen"
            case tokenFile = "token_file"
            case maxBodyBytes = "max_body_bytes"
            case maxDecompressedBytes = "max_decompressed_bytes"
            case maxInFlightBytes = "max_inflight_bytes"
        }

        static func load(_ path: String) throws -> File {
            try ConfigurationFile.load(File.self, from: path)
        }
    }
}

/// The redaction rules every log record passes through before it is queued.
struct RedactionConfiguration: Sendable, Equatable {
    var rules: [RedactionRule] = []
    /// Whether the built-in rules (e-mails, card numbers, bearer tokens, passwords) apply too.
    var includeDefaults = true

    func makeRedactor() -> Redactor { Redactor(rules: rules, includeDefaults: includeDefaults) }
}
