import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import PeriscopeConfig
import PeriscopeDelivery
import PeriscopeDiskQueue

/// `periscope-agent [run]`: the long-running sidecar.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the agent (the default command).",
        discussion: """
            Examples:
              periscope-agent --collector http://collector.internal:4400 --token-file token.txt
              periscope-agent --otlp-listen 127.0.0.1:4318 --data /var/lib/periscope-agent --fsync 200ms
              periscope-agent --config agent.yaml --check    # in CI: is the configuration valid?
            """)

    @Option(help: "YAML configuration file; flags override its keys.")
    var config: String?

    @Option(name: .customLong("otlp-listen"), help: "OTLP/HTTP receiver address (HOST:PORT; port 0 picks a free one). Default 127.0.0.1:4318.")
    var otlpListen: String?

    @Option(name: .customLong("otlp-grpc-listen"), help: "OTLP/gRPC receiver address (HOST:PORT, or off). Default 127.0.0.1:4317.")
    var otlpGRPCListen: String?

    @Option(help: "Collector base URL, or several separated by commas (collectors sharing one store: spans by trace ID, logs and metrics spread, failover). Default http://127.0.0.1:4400 (env PERISCOPE_COLLECTOR).")
    var collector: String?

    @Option(name: .customLong("token-file"), help: "File whose first line is the collector's bearer token (env PERISCOPE_TOKEN holds the token itself).")
    var tokenFile: String?

    @Option(help: "Directory for the queue and dead letters. Default ./periscope-agent-data.")
    var data: String?

    @Option(help: "service.name for telemetry that carries none (tailed files).")
    var service: String?

    @Option(help: "Log files to tail (glob); repeatable.")
    var tail: [String] = []

    @Option(name: .customLong("watch-pid"), help: "Also sample this process's CPU, memory and disk I/O from /proc.")
    var watchPID: Int32?

    @Option(name: .customLong("queue-max-size"), help: "Most the queue may hold on disk, e.g. 512MiB (default).")
    var queueMaxSize: String?

    @Option(help: "When queue writes reach the disk: always (default), never, or an interval like 200ms.")
    var fsync: String?

    @Option(name: .customLong("when-full"), help: "backpressure (default: answer 429) or drop_oldest.")
    var whenFull: String?

    @Option(name: .customLong("dead-letter-max-size"), help: "Most the dead-letter box may hold, e.g. 64MiB (default); its oldest letters make room.")
    var deadLetterMaxSize: String?

    @Option(name: .customLong("segment-size"), help: "Size of one queue segment file, e.g. 16MiB (default).")
    var segmentSize: String?

    @Option(name: .customLong("batch-max-items"), help: "Items that close a batch. Default 8192.")
    var batchMaxItems: Int?

    @Option(name: .customLong("batch-max-bytes"), help: "Bytes that close a batch, e.g. 1MiB (default).")
    var batchMaxBytes: String?

    @Option(name: .customLong("batch-max-delay"), help: "How long a write waits for more requests to join it, e.g. 20ms. Default 0: at once (group commit).")
    var batchMaxDelay: String?

    @Option(help: "Batches in flight to the collector at once. Default 4.")
    var concurrency: Int?

    @Option(name: .customLong("drain-timeout"), help: "How long a graceful shutdown keeps shipping, e.g. 5s (default).")
    var drainTimeout: String?

    @Option(name: .customLong("max-body-bytes"), help: "Largest OTLP request body accepted, e.g. 16MiB (default).")
    var maxBodyBytes: String?

    @Option(name: .customLong("max-decompressed-bytes"), help: "Largest body after decompression, e.g. 64MiB (default).")
    var maxDecompressedBytes: String?

    @Option(name: .customLong("max-inflight-bytes"), help: "Bodies of all requests held at once, compressed and decompressed; past it a request gets 503 and Retry-After. Default 4 × (max-body-bytes + max-decompressed-bytes).")
    var maxInFlightBytes: String?

    @Option(name: .customLong("redact"), help: "A redaction rule NAME=REGEX for log records (tailed or received); repeatable, added to the file's redact: rules.")
    var redact: [String] = []

    @Flag(name: .customLong("no-redact-defaults"), help: "Turn off the built-in redaction rules (e-mails, card numbers, bearer tokens, passwords).")
    var noRedactDefaults = false

    @Option(name: .customLong("host-metrics-interval"), help: "How often host metrics are sampled: a duration like 10s (default), or off.")
    var hostMetricsInterval: String?

    @Option(name: .customLong("max-concurrent-requests"), help: "OTLP requests answered at once; more get 503 with Retry-After. Default 16.")
    var maxConcurrentRequests: Int?

    @Option(name: .customLong("max-log-age"), help: "Tailed records older than this when read keep their time field as an attribute and get the read time, e.g. 7d (default).")
    var maxLogAge: String?

    @Option(name: .customLong("max-log-future"), help: "Tailed records timed further ahead than this get the read time instead, e.g. 1h (default).")
    var maxLogFuture: String?

    @Option(name: .customLong("self-telemetry-interval"), help: "How often the agent reports its own metrics: a duration like 10s (default), or off.")
    var selfTelemetryInterval: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Flag(help: "Check the configuration (and its token file, globs and patterns), print what it sets, and exit (0 valid, 64 not) without starting.")
    var check = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        LargeAllocationPolicy.apply(environment: environment)
        ProcessLimits.apply()
        let configuration: AgentConfiguration
        do {
            configuration = try resolve(environment: environment)
            if check {
                print(configuration.checkSummary)
                return
            }
            try configuration.otlpListen.checkCanListen(flag: "--otlp-listen")
            // The default gRPC port is tried and given up with a warning when taken; one asked for must work.
            if configuration.otlpGRPCListenIsExplicit { try configuration.otlpGRPCListen?.checkCanListen(flag: "--otlp-grpc-listen") }
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        var logger = Logger(label: "periscope-agent")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let httpClient = OTLPUploader.makeHTTPClient()
        let agent = try AgentApplication(configuration: configuration, httpClient: httpClient, logger: logger)
        do {
            try await agent.run()
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }

    func resolve(environment: [String: String]) throws -> AgentConfiguration {
        let file = try config.map(AgentConfiguration.File.load)
        var configuration = AgentConfiguration()
        if let text = otlpListen ?? file?.otlpListen {
            guard let address = ListenAddress(text) else { throw ConfigurationError("--otlp-listen must be HOST:PORT, got '\(text)'") }
            configuration.otlpListen = address
        }
        if let text = otlpGRPCListen ?? file?.otlpGRPCListen {
            configuration.otlpGRPCListen = try ListenAddress.optional(text, flag: "--otlp-grpc-listen")
            configuration.otlpGRPCListenIsExplicit = true
        }
        if let urls = collector ?? file?.collector ?? environment["PERISCOPE_COLLECTOR"] {
            configuration.collectorURLs = try CollectorURL.list(urls)
        }
        if let path = tokenFile ?? file?.tokenFile {
            configuration.token = try TokenFile.read(path).first
        } else if let token = environment["PERISCOPE_TOKEN"], !token.isEmpty {
            configuration.token = token
        }
        if let data = data ?? file?.data { configuration.dataDirectory = data }
        configuration.serviceName = service ?? file?.service
        // `--tail GLOB` flags replace the file's `tail:` list.
        configuration.tail.sources = tail.isEmpty ? try (file?.tail ?? []).map { try $0.resolve() } : tail.map { TailSource(include: [$0]) }
        let flagRules = try redact.map { text in
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw ConfigurationError("--redact must be NAME=REGEX, like --redact 'api-key=key-[0-9a-f]{32}'; got '\(text)'")
            }
            return try RedactionRuleEntry(name: String(text[..<equals]), pattern: String(text[text.index(after: equals)...])).resolve()
        }
        configuration.redaction.rules = try (file?.redact ?? []).map { try $0.resolve() } + flagRules
        configuration.redaction.includeDefaults = !noRedactDefaults && (file?.redactDefaults ?? true)
        configuration.watchPID = watchPID ?? file?.watchPid
        if let text = hostMetricsInterval ?? file?.hostMetricsInterval {
            configuration.hostMetricsInterval = try Self.interval(text, key: "host_metrics_interval")
        }
        try configuration.bodyLimits.set(
            body: (maxBodyBytes, file?.maxBodyBytes), decompressed: (maxDecompressedBytes, file?.maxDecompressedBytes),
            inFlight: (maxInFlightBytes, file?.maxInFlightBytes),
            names: ("max_body_bytes", "max_decompressed_bytes", "max_inflight_bytes"))

        if let text = queueMaxSize ?? file?.queue?.maxSize {
            guard let size = ByteSizeText.parse(text), size >= 1 << 16 else { throw ConfigurationError("queue max_size must be a size of at least 64KiB, like 512MiB; got '\(text)'") }
            configuration.queue.maxBytes = size
        }
        if let text = deadLetterMaxSize ?? file?.shipper?.deadLetterMaxSize {
            guard let size = ByteSizeText.parse(text), size >= 1 << 16 else { throw ConfigurationError("shipper dead_letter_max_size must be a size of at least 64KiB, like 64MiB; got '\(text)'") }
            configuration.deadLetterMaxBytes = size
        }
        if let text = segmentSize ?? file?.queue?.segmentSize {
            guard let size = ByteSizeText.parse(text), size >= 1 << 12 else { throw ConfigurationError("queue segment_size must be a size like 16MiB; got '\(text)'") }
            configuration.queue.segmentBytes = size
        }
        configuration.queue.segmentBytes = min(configuration.queue.segmentBytes, max(configuration.queue.maxBytes / 4, 1 << 12))
        if let text = fsync ?? file?.queue?.fsync {
            guard let policy = FsyncPolicy(text) else { throw ConfigurationError("fsync must be always, never or an interval like 200ms; got '\(text)'") }
            configuration.queue.fsync = policy
        }
        if let text = whenFull ?? file?.queue?.whenFull {
            guard let policy = WhenFull(rawValue: text) else { throw ConfigurationError("when_full must be backpressure or drop_oldest; got '\(text)'") }
            configuration.queue.whenFull = policy
        }
        if let items = batchMaxItems ?? file?.batch?.maxItems {
            guard items > 0 else { throw ConfigurationError("batch max_items must be positive") }
            configuration.batching.maxItems = items
        }
        if let text = batchMaxBytes ?? file?.batch?.maxBytes {
            // A joined batch within 2 MiB holds fewer than 2^21 elements (a message takes at least 2 bytes, a packed
            // number 1), what a receiver takes (`OTLPLimits.maxElementsPerRequest`).
            guard let size = ByteSizeText.parse(text), size > 0, size <= 2 << 20 else {
                throw ConfigurationError("batch max_bytes must be a size up to 2MiB, like 1MiB; got '\(text)'")
            }
            configuration.batching.maxBytes = size
        }
        if let text = batchMaxDelay ?? file?.batch?.maxDelay {
            // Requests wait up to this for their group to fill: past a minute an exporter would have given up.
            guard let delay = DurationText.parse(text), delay <= .seconds(60) else {
                throw ConfigurationError("batch max_delay must be a duration up to 1m, like 200ms; got '\(text)'")
            }
            configuration.batching.maxDelay = delay
        }
        if let count = concurrency ?? file?.shipper?.concurrency {
            guard (1...64).contains(count) else { throw ConfigurationError("shipper concurrency must be 1–64; got \(count)") }
            configuration.shipperConcurrency = count
        }
        if let text = selfTelemetryInterval ?? file?.selfTelemetryInterval {
            configuration.selfTelemetryInterval = try Self.interval(text, key: "self_telemetry_interval")
        }
        if let limit = maxConcurrentRequests ?? file?.maxConcurrentRequests {
            guard limit >= 1 else { throw ConfigurationError("max_concurrent_requests must be at least 1; got \(limit)") }
            configuration.maxConcurrentRequests = limit
        }
        if let text = maxLogAge ?? file?.maxLogAge {
            guard let age = DurationText.parse(text), age > .zero else { throw ConfigurationError("max_log_age must be a duration like 7d; got '\(text)'") }
            configuration.tail.timeBounds.maxAge = age
        }
        if let text = maxLogFuture ?? file?.maxLogFuture {
            guard let future = DurationText.parse(text) else { throw ConfigurationError("max_log_future must be a duration like 1h; got '\(text)'") }
            configuration.tail.timeBounds.maxFuture = future
        }
        if let text = drainTimeout ?? file?.shipper?.drainTimeout {
            guard let delay = DurationText.parse(text) else { throw ConfigurationError("shipper drain_timeout must be a duration like 5s; got '\(text)'") }
            configuration.drainDeadline = delay
        }
        return configuration
    }

    /// The shortest reporting interval: one report costs a queue append and a metric batch, and
    /// `1ns` kept a core busy writing them.
    static let minimumReportInterval = Duration.milliseconds(100)

    /// An interval of at least `minimumReportInterval`, or `nil` for `off`.
    private static func interval(_ text: String, key: String) throws -> Duration? {
        if text == "off" { return nil }
        guard let interval = DurationText.parse(text), interval >= minimumReportInterval else {
            throw ConfigurationError("\(key) must be a duration of at least 100ms like 10s, or off; got '\(text)'")
        }
        return interval
    }
}

/// Collector URLs as given on the command line, without a trailing slash.
enum CollectorURL {
    static func normalise(_ url: String) throws -> String {
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw ConfigurationError("--collector must be an http:// or https:// URL, got '\(EndpointURL.redacted(url))'")
        }
        if let problem = EndpointURL.problem(url) {
            throw ConfigurationError("--collector '\(EndpointURL.redacted(url))': \(problem)")
        }
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    /// One URL or several separated by commas, each normalised; a URL given twice is refused
    /// (it would take two shares of the traffic).
    static func list(_ text: String) throws -> [String] {
        let urls = try text.split(separator: ",").map { try normalise($0.trimmingCharacters(in: .whitespaces)) }
        guard !urls.isEmpty else { throw ConfigurationError("--collector needs at least one http:// or https:// URL") }
        guard Set(urls).count == urls.count else {
            throw ConfigurationError("--collector names a URL twice: '\(urls.map { EndpointURL.redacted($0) }.joined(separator: ","))'")
        }
        return urls
    }
}
