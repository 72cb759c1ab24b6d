import PeriscopeModel

/// A trace named on the command line: a whole ID (32 hex digits or a W3C `traceparent`), or
/// a unique prefix of at least `minimumPrefix` hex digits, resolved by the collector.
enum TraceReference: Sendable, Equatable {
    case id(TraceID)
    case prefix(String)

    static let minimumPrefix = 8
    /// How many matches to ask for when resolving a prefix: enough to say how ambiguous it is.
    static let resolveLimit = 100

    static func parse(_ text: String) throws -> TraceReference {
        let trimmed = String(text.trimmingSpaces)
        if trimmed.utf8.count < 32, trimmed.utf8.count >= minimumPrefix, trimmed.allSatisfy(\.isHexDigit) {
            return .prefix(trimmed.lowercased())
        }
        if trimmed.utf8.count < minimumPrefix, !trimmed.isEmpty, trimmed.allSatisfy(\.isHexDigit) {
            throw QueryError("'\(Text.sanitize(trimmed))' is too short a trace ID prefix: give at least \(minimumPrefix) of its 32 hex digits")
        }
        return .id(try CommandRunner.parseTraceID(text))
    }

    /// The full ID: a prefix must match exactly one stored trace.
    func resolve(with client: QueryClient) async throws -> TraceID {
        switch self {
        case .id(let id):
            return id
        case .prefix(let prefix):
            let list = try await client.traces(idPrefix: prefix, limit: Self.resolveLimit)
            // A collector without prefix support answers a plain search: keep only real matches.
            let matches = Set(list.traces.map(\.traceID).filter { $0.hex.hasPrefix(prefix) })
            guard let first = matches.first else { throw QueryError("no trace starts with \(prefix)") }
            guard matches.count == 1 else {
                let count = matches.count >= Self.resolveLimit ? "\(Self.resolveLimit) or more" : String(matches.count)
                throw QueryError("\(prefix) is ambiguous: \(count) traces start with it — give more digits")
            }
            return first
        }
    }
}
