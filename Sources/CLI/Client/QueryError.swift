/// A failure a user can act on: shown as one sentence on stderr, exit status 1.
struct QueryError: Error, Equatable, CustomStringConvertible {
    var message: String

    init(_ message: String) { self.message = message }

    var description: String { message }

    static func unreachable(_ collector: String, reason: String) -> QueryError {
        QueryError("cannot reach the collector at \(collector): \(reason) — is periscope-collector running? set --collector or PERISCOPE_COLLECTOR")
    }

    static func unauthorized(tokenGiven: Bool) -> QueryError {
        tokenGiven
            ? QueryError("the collector refused the token: check --token-file or PERISCOPE_TOKEN")
            : QueryError("the collector requires a token: pass --token-file FILE or set PERISCOPE_TOKEN")
    }

    static func traceNotFound(_ id: String) -> QueryError {
        QueryError("no trace with ID \(id) in the collector")
    }

    static func invalidTraceID(_ text: String) -> QueryError {
        let shown = Text.sanitize(text)
        if text.utf8.count == 32, text.allSatisfy(\.isHexDigit) {
            return QueryError("'\(shown)' is not a valid trace ID: the all-zero ID is never used")
        }
        return QueryError("'\(shown)' is not a trace ID: expected 32 hex digits (or a unique prefix of at least 8), got \(text.count) characters")
    }
}
