import Foundation
import PeriscopeDelivery
import PeriscopeModel

/// The standard OpenTelemetry SDK environment variables
/// (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/), read
/// once, so a pod spec written for any other OpenTelemetry service configures a Swift one too.
/// `PeriscopeConfiguration` applies them under what the code sets explicitly. A value that does
/// not parse is ignored with a warning (`warnings`), as the specification asks, never a crash.
public struct OTelEnvironment: Sendable {
    /// `OTEL_SDK_DISABLED=true`: every signal is a no-op.
    public var sdkDisabled = false
    /// `OTEL_SERVICE_NAME`, else `service.name` in `OTEL_RESOURCE_ATTRIBUTES`.
    public var serviceName: String?
    /// `OTEL_RESOURCE_ATTRIBUTES` (`key=value,…`, percent-decoded), without `service.name`.
    public var resourceAttributes: [String: String] = [:]
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the base URL signal paths are appended to.
    public var endpoint: String?
    /// `OTEL_EXPORTER_OTLP_{TRACES,LOGS,METRICS}_ENDPOINT`: full URLs, used as given.
    public var signalEndpoints: [Signal: String] = [:]
    /// `OTEL_EXPORTER_OTLP_HEADERS` (`key=value,…`, percent-decoded).
    public var headers: [String: String] = [:]
    /// `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds).
    public var timeout: Duration?
    /// `OTEL_TRACES_SAMPLER` with `OTEL_TRACES_SAMPLER_ARG`.
    public var sampler: (any Sampler)?
    /// `OTEL_PROPAGATORS`: which of W3C trace context and baggage are read and written.
    public var propagators: Propagators?
    /// `OTEL_BSP_MAX_QUEUE_SIZE`: spans held for export (the exporter's `spanQueueCapacity`).
    public var spanQueueSize: Int?
    /// `OTEL_BLRP_MAX_QUEUE_SIZE`: log records held for export (`logQueueCapacity`).
    public var logQueueSize: Int?
    /// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` and `OTEL_BLRP_MAX_EXPORT_BATCH_SIZE`: items per export
    /// request. The exporter has one batch size for both signals: the smaller of those set.
    public var maxExportBatchSize: Int?
    /// `OTEL_BSP_SCHEDULE_DELAY` and `OTEL_BLRP_SCHEDULE_DELAY` (ms): the longest wait before what
    /// is queued is sent (a full batch goes at once). One interval for both: the shorter, where
    /// one that is not set counts as the SDK's default (1 s), so that setting one signal's delay
    /// never slows the other's.
    public var scheduleDelay: Duration?
    /// `OTEL_METRIC_EXPORT_INTERVAL` (ms): how often metrics are exported.
    public var metricExportInterval: Duration?
    /// Values that did not parse, each a sentence naming the variable.
    public var warnings: [String] = []

    public init(_ environment: [String: String] = ProcessInfo.processInfo.environment) {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        if let text = value("OTEL_SDK_DISABLED") { sdkDisabled = text.lowercased() == "true" }
        var resource = Self.pairs(value("OTEL_RESOURCE_ATTRIBUTES") ?? "", variable: "OTEL_RESOURCE_ATTRIBUTES", warnings: &warnings)
        serviceName = value("OTEL_SERVICE_NAME") ?? resource["service.name"]
        resource["service.name"] = nil
        resourceAttributes = resource
        for (name, value) in Self.pairs(value("OTEL_EXPORTER_OTLP_HEADERS") ?? "", variable: "OTEL_EXPORTER_OTLP_HEADERS", warnings: &warnings) {
            // An HTTP field name is a token; a value holds no control characters (a decoded CR LF
            // would make every export fail).
            let tokenBytes = Set("!#$%&'*+-.^_`|~".utf8)
            let validName = name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || tokenBytes.contains($0) }
            let validValue = value.unicodeScalars.allSatisfy { $0 == "\t" || ($0.value >= 0x20 && $0.value != 0x7F) }
            guard validName, validValue else {
                warnings.append("OTEL_EXPORTER_OTLP_HEADERS: '\(name.prefix(64))' is not a valid header (name a token, value without control characters); ignored")
                continue
            }
            headers[name] = value
        }

        let grpc = value("OTEL_EXPORTER_OTLP_PROTOCOL").map { $0.lowercased() == "grpc" } ?? false
        if let text = value("OTEL_EXPORTER_OTLP_PROTOCOL"), !["grpc", "http/protobuf", "http/json"].contains(text.lowercased()) {
            warnings.append("OTEL_EXPORTER_OTLP_PROTOCOL='\(text)' is not grpc, http/protobuf or http/json; ignored")
        }
        if let text = value("OTEL_EXPORTER_OTLP_ENDPOINT") {
            if var url = Self.httpURL(text) {
                // This SDK speaks OTLP/HTTP; a spec written for gRPC SDKs names the agent's gRPC port.
                if grpc, let port = URLComponents(string: url)?.port, port == 4317 {
                    url = url.replacingOccurrences(of: ":4317", with: ":4318")
                    warnings.append("OTEL_EXPORTER_OTLP_PROTOCOL=grpc: the Periscope SDK sends OTLP/HTTP, to port 4318 instead of 4317")
                } else if grpc {
                    warnings.append("OTEL_EXPORTER_OTLP_PROTOCOL=grpc: the Periscope SDK sends OTLP/HTTP to \(url)")
                }
                endpoint = url
            } else {
                warnings.append("OTEL_EXPORTER_OTLP_ENDPOINT='\(text)' is not an http:// or https:// URL; ignored")
            }
        }
        for (signal, name) in [(Signal.traces, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), (.logs, "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"),
                               (.metrics, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")] {
            guard let text = value(name) else { continue }
            if let url = Self.httpURL(text) { signalEndpoints[signal] = url } else { warnings.append("\(name)='\(text)' is not an http:// or https:// URL; ignored") }
        }
        func count(_ name: String, upTo limit: Int) -> Int? {
            guard let text = value(name) else { return nil }
            guard let number = Int(text), (1...limit).contains(number) else {
                warnings.append("\(name)='\(text.prefix(64))' is not a whole number from 1 to \(limit); ignored")
                return nil
            }
            return number
        }
        func milliseconds(_ name: String, from minimum: Int64) -> Duration? {
            guard let text = value(name) else { return nil }
            guard let number = Int64(text), (minimum...86_400_000).contains(number) else {
                warnings.append("\(name)='\(text.prefix(64))' is not a whole number of milliseconds from \(minimum) to 86400000; ignored")
                return nil
            }
            return .milliseconds(number)
        }
        // The one value spans and logs share: the smallest of `settings`, one left unset counting
        // as `unset` (nil: not at all); a warning for each set above it.
        func shared<Value: Comparable>(
            _ settings: [(name: String, value: Value?)], unset: Value?, warning: (String, Value, Value) -> String
        ) -> Value? {
            guard settings.contains(where: { $0.value != nil }), let chosen = settings.compactMap({ $0.value ?? unset }).min() else { return nil }
            for (name, value) in settings {
                if let value, value > chosen { warnings.append(warning(name, value, chosen)) }
            }
            return chosen
        }
        timeout = milliseconds("OTEL_EXPORTER_OTLP_TIMEOUT", from: 1)
        spanQueueSize = count("OTEL_BSP_MAX_QUEUE_SIZE", upTo: Self.maxQueueSize)
        logQueueSize = count("OTEL_BLRP_MAX_QUEUE_SIZE", upTo: Self.maxQueueSize)
        // Spans and logs share one batch size and one schedule: the smaller setting wins.
        // A batch size left unset does not count: a larger batch never delays anything (the
        // schedule still sends what is queued), so one signal's setting holds for both.
        maxExportBatchSize = shared(
            [("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", count("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", upTo: Self.maxExportBatchSize)),
             ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", count("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", upTo: Self.maxExportBatchSize))],
            unset: nil) { name, size, chosen in
            "\(name)=\(size): spans and logs share one batch size in the Periscope SDK, the smaller one (\(chosen))"
        }
        // A delay left unset counts as the SDK's default, so one signal's never slows the other's.
        scheduleDelay = shared(
            [("OTEL_BSP_SCHEDULE_DELAY", milliseconds("OTEL_BSP_SCHEDULE_DELAY", from: 1)),
             ("OTEL_BLRP_SCHEDULE_DELAY", milliseconds("OTEL_BLRP_SCHEDULE_DELAY", from: 1))],
            unset: OTLPExporter.Configuration().exportInterval) { name, _, chosen in
            "\(name): spans and logs share one schedule in the Periscope SDK, the shorter delay (\(chosen))"
        }
        // Each metrics export collects every series and sends a request: not more than ten a second.
        metricExportInterval = milliseconds("OTEL_METRIC_EXPORT_INTERVAL", from: 100)
        sampler = Self.sampler(value("OTEL_TRACES_SAMPLER"), argument: value("OTEL_TRACES_SAMPLER_ARG"), warnings: &warnings)
        if let text = value("OTEL_PROPAGATORS") {
            var chosen = Propagators()
            for name in text.lowercased().split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                switch name {
                case "tracecontext": chosen.insert(.traceContext)
                case "baggage": chosen.insert(.baggage)
                case "none": break
                default: warnings.append("OTEL_PROPAGATORS: '\(name)' is not supported (tracecontext, baggage, none); ignored")
                }
            }
            propagators = chosen
        }
    }

    /// The largest queue size taken from the environment: 1,048,576 items. A queued span is about
    /// 160 bytes before its attributes, so a full queue of them is some hundreds of MiB, and a
    /// stray digit cannot ask for more memory than a machine has.
    public static let maxQueueSize = 1 << 20
    /// The largest batch size taken from the environment: 8,192 items, a request well within the
    /// agent's 16 MiB body limit for spans of ordinary size.
    public static let maxExportBatchSize = 8192

    /// `key=value,key2=value2` with percent-encoded values (W3C Baggage syntax, as the spec says).
    static func pairs(_ text: String, variable: String, warnings: inout [String]) -> [String: String] {
        var out: [String: String] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1)
            let key = parts.first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard parts.count == 2, !key.isEmpty, let value = parts[1].trimmingCharacters(in: .whitespaces).removingPercentEncoding else {
                warnings.append("\(variable): '\(item.prefix(64))' is not key=value; ignored")
                continue
            }
            out[key] = value
        }
        return out
    }

    static func httpURL(_ text: String) -> String? {
        let lower = text.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), EndpointURL.problem(text) == nil else { return nil }
        var url = text
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    static func sampler(_ name: String?, argument: String?, warnings: inout [String]) -> (any Sampler)? {
        guard let name else { return nil }
        func ratio() -> Double {
            guard let argument else { return 1 }
            guard let value = Double(argument), value >= 0, value <= 1 else {
                warnings.append("OTEL_TRACES_SAMPLER_ARG='\(argument)' is not a ratio from 0 to 1; 1 used")
                return 1
            }
            return value
        }
        switch name.lowercased() {
        case "always_on": return ConstantSampler(true)
        case "always_off": return ConstantSampler(false)
        case "parentbased_always_on": return ParentBasedRatioSampler(ratio: 1)
        case "parentbased_always_off": return ParentBasedRatioSampler(ratio: 0)
        case "parentbased_traceidratio": return ParentBasedRatioSampler(ratio: ratio())
        case "traceidratio": return TraceIDRatioSampler(ratio: ratio())
        default:
            warnings.append("OTEL_TRACES_SAMPLER='\(name)' is not supported (always_on, always_off, traceidratio, parentbased_*); the default is used")
            return nil
        }
    }
}

/// Which context propagation formats the tracer reads and writes.
public struct Propagators: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// W3C Trace Context: `traceparent` and `tracestate`.
    public static let traceContext = Propagators(rawValue: 1)
    /// W3C Baggage: `baggage` (which also carries the correlation ID).
    public static let baggage = Propagators(rawValue: 2)
    /// The OpenTelemetry default.
    public static let `default`: Propagators = [.traceContext, .baggage]
}
