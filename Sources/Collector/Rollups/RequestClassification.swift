import PeriscopeTelemetry

/// Which spans are requests and which requests failed, as DESIGN §6 defines them: server and
/// consumer spans are requests; a request failed if its status is error, or, for a server
/// span, if its HTTP status is 5xx.
enum RequestClassification {
    static func isRequest(_ span: Span) -> Bool {
        span.kind == .server || span.kind == .consumer
    }

    static func httpStatus(_ span: Span) -> Int? {
        for key in ["http.response.status_code", "http.status_code"] {
            switch span.attributes[key] {
            case .int(let value)?: return Int(value)
            case .string(let text)?: if let value = Int(text) { return value }
            case .double(let value)?: return Int(value)
            default: continue
            }
        }
        return nil
    }

    /// `nil` for a success; otherwise the error type: the HTTP status (`500`) or `status_error`.
    static func errorType(_ span: Span) -> String? {
        let status = httpStatus(span)
        if span.kind == .server, let status, status >= 500 { return String(status) }
        if span.status.code == .error {
            if let type = span.events.first(where: { $0.name == "exception" })?.attributes["exception.type"]?.text {
                return type
            }
            return status.map(String.init) ?? "status_error"
        }
        return nil
    }
}
