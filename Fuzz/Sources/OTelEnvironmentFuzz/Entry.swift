import CFuzzerDriver
import PeriscopeModel
import PeriscopeSDK

/// The variables the input's NUL-separated parts are assigned to, in order.
let variables = [
    "OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_PROPAGATORS", "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BLRP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_SCHEDULE_DELAY", "OTEL_BLRP_SCHEDULE_DELAY", "OTEL_METRIC_EXPORT_INTERVAL",
]

/// A pod spec's OTEL_* variables, whatever they hold, configure the SDK or are ignored with a
/// warning: never a trap, never a header that would break every export, never a timeout out of range.
func check(_ input: UnsafeRawBufferPointer) {
    var environment: [String: String] = [:]
    for (name, part) in zip(variables, input.split(separator: 0, omittingEmptySubsequences: false)) {
        environment[name] = String(decoding: part, as: UTF8.self)
    }
    let parsed = OTelEnvironment(environment)
    for (name, value) in parsed.headers {
        precondition(!value.unicodeScalars.contains { $0 == "\r" || $0 == "\n" || $0 == "\0" }, "a header value holds no line break")
        precondition(!name.utf8.contains { $0 <= 0x20 || $0 == UInt8(ascii: ":") }, "a header name is a token")
    }
    if let timeout = parsed.timeout { precondition(timeout > .zero && timeout <= .seconds(86_400)) }
    for url in [parsed.endpoint].compactMap({ $0 }) + parsed.signalEndpoints.values {
        precondition(url.lowercased().hasPrefix("http://") || url.lowercased().hasPrefix("https://"))
    }
    for size in [parsed.spanQueueSize, parsed.logQueueSize].compactMap({ $0 }) {
        precondition((1...OTelEnvironment.maxQueueSize).contains(size), "a queue size in range")
    }
    if let batch = parsed.maxExportBatchSize { precondition((1...OTelEnvironment.maxExportBatchSize).contains(batch), "a batch size in range") }
    for interval in [parsed.scheduleDelay, parsed.metricExportInterval].compactMap({ $0 }) {
        precondition(interval > .zero && interval <= .seconds(86_400), "an interval in range")
    }
    precondition(parsed.warnings.allSatisfy { !$0.isEmpty })
    let configuration = PeriscopeConfiguration(serviceName: nil, environment: parsed)
    precondition(configuration.export.maxBatchSize <= max(configuration.export.spanQueueCapacity, configuration.export.logQueueCapacity))
}

@_cdecl("OTelEnvironmentFuzz_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    fuzz_driver_run(argc, argv) { data, size in
        guard let data else { return 0 }
        check(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
}
