/// The three OpenTelemetry signals and where OTLP/HTTP sends each.
/// See https://opentelemetry.io/docs/specs/otlp/#otlphttp-request
public enum Signal: String, Sendable, CaseIterable, Codable {
    case traces, logs, metrics

    /// The standard OTLP/HTTP path: `/v1/traces`, `/v1/logs`, `/v1/metrics`.
    public var path: String { "/v1/\(rawValue)" }
}

/// One decoded OTLP export request.
public enum TelemetryBatch: Hashable, Sendable {
    case traces([ResourceSpans])
    case logs([ResourceLogs])
    case metrics([ResourceMetrics])

    public var signal: Signal {
        switch self {
        case .traces: return .traces
        case .logs: return .logs
        case .metrics: return .metrics
        }
    }

    /// Spans, log records or metric points in the batch.
    public var itemCount: Int {
        switch self {
        case .traces(let groups): return groups.reduce(0) { $0 + $1.scopes.reduce(0) { $0 + $1.spans.count } }
        case .logs(let groups): return groups.reduce(0) { $0 + $1.scopes.reduce(0) { $0 + $1.records.count } }
        case .metrics(let groups):
            return groups.reduce(0) { $0 + $1.scopes.reduce(0) { $0 + $1.metrics.reduce(0) { $0 + $1.data.pointCount } } }
        }
    }
}
