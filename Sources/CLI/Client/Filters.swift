import PeriscopeModel

/// The parameters of `GET /api/v1/traces` (search); `nil` leaves a filter out.
struct TraceFilter: Sendable, Equatable {
    var service: String?
    var operation: String?
    var kind: String?
    /// `key=value` pairs that must all hold on one span.
    var attributes: [String] = []
    var status: String?
    var minDurationNanos: UInt64?
    var maxDurationNanos: UInt64?
    var minTraceDurationNanos: UInt64?
    var maxTraceDurationNanos: UInt64?
    var range: TimeRange = .unbounded
    var limit: Int = 20

    var queryItems: [(String, String)] {
        var items: [(String, String)] = []
        if let service { items.append(("service", service)) }
        if let operation { items.append(("operation", operation)) }
        if let kind { items.append(("kind", kind)) }
        for pair in attributes { items.append(("attr", pair)) }
        if let status { items.append(("status", status)) }
        if let minDurationNanos { items.append(("min_duration", String(minDurationNanos))) }
        if let maxDurationNanos { items.append(("max_duration", String(maxDurationNanos))) }
        if let minTraceDurationNanos { items.append(("min_trace_duration", String(minTraceDurationNanos))) }
        if let maxTraceDurationNanos { items.append(("max_trace_duration", String(maxTraceDurationNanos))) }
        items += range.queryItems
        items.append(("limit", String(limit)))
        return items
    }
}

/// The parameters of `GET /api/v1/logs`.
struct LogFilter: Sendable, Equatable {
    var traceID: TraceID?
    var correlationID: String?
    var service: String?
    /// Minimum level: trace, debug, info, warn, error or fatal.
    var level: String?
    var contains: String?
    var range: TimeRange = .unbounded
    var limit: Int = 1000
    var newestFirst = false

    var queryItems: [(String, String)] {
        var items: [(String, String)] = []
        if let traceID { items.append(("trace_id", traceID.hex)) }
        if let correlationID { items.append(("correlation_id", correlationID)) }
        if let service { items.append(("service", service)) }
        if let level { items.append(("level", level)) }
        if let contains { items.append(("contains", contains)) }
        items += range.queryItems
        items.append(("limit", String(limit)))
        if newestFirst { items.append(("order", "desc")) }
        return items
    }
}
