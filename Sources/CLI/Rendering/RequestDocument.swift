import PeriscopeQueryAPI

/// `periscope request ID --json`: everything about one request — its log lines across
/// services (oldest first) and every trace they or its spans reference (in order of first
/// mention).
struct RequestDocument: Codable, Hashable, Sendable {
    var correlationID: String
    var logs: [QueryAPI.Log]
    var traces: [QueryAPI.Trace]
    /// The collector's read budget ran out before every log line was found: `logs` holds
    /// every one before `logsResumeUnixNano` (ask again with `--since` at it for the rest).
    var logsTruncated = false
    var logsResumeUnixNano: UInt64?
    /// The trace search's work budget ran out: more traces may carry the ID.
    var tracesTruncated = false
}

/// A request as text: a summary line, its log lines, then each trace's waterfall.
struct RequestRenderer: Sendable {
    var width: Int
    var verbose: Bool = false
    var style: Style = .plain

    func render(_ document: RequestDocument) -> String {
        let services = Set(document.logs.map(\.service) + document.traces.flatMap { $0.spans.map(\.service) })
        var out = style.bold("request \(Text.sanitize(document.correlationID))") + " · "
            + [Text.plural(document.logs.count, "log line"), Text.plural(services.count, "service"),
               Text.plural(document.traces.count, "trace")].joined(separator: " · ") + "\n"
        if !document.logs.isEmpty {
            out += "\n" + style.dim("LOGS") + "\n"
            out += LogsRenderer(style: style, verbose: verbose).render(QueryAPI.Logs(logs: document.logs))
        }
        for trace in document.traces {
            out += "\n" + WaterfallRenderer(width: width, verbose: verbose, style: style).render(trace)
        }
        return out
    }
}
