import Foundation
import Hummingbird
import PeriscopeConfig
import PeriscopeModel

/// Reads query-string parameters with one clear error per bad value.
struct QueryParameters {
    /// Decoded names and values in the order given; the first of a repeated name is the one read.
    let pairs: [(name: String, value: String)]

    struct Invalid: Error {
        var message: String
    }

    /// The parameters of a URL's query (as sent, still percent-encoded), decoded as HTML forms
    /// and URL libraries encode them: `+` is a space (Python's `urlencode`, `URLSearchParams`),
    /// `%2B` a plus. A value whose percent-encoding is broken is taken as it was sent.
    init(query: String?) {
        pairs = (query ?? "").split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (Self.decode(parts[0]), parts.count > 1 ? Self.decode(parts[1]) : "")
        }
    }

    /// Parameters already decoded (the web UI's, with what its forms leave out filled in).
    init(pairs: [(name: String, value: String)]) {
        self.pairs = pairs
    }

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    func string(_ name: String) -> String? {
        guard let value = pairs.first(where: { $0.name == name })?.value, !value.isEmpty else { return nil }
        return value
    }

    func all(_ name: String) -> [String] {
        pairs.filter { $0.name == name }.map(\.value)
    }

    func integer(_ name: String, in range: ClosedRange<Int>, default value: Int) throws(Invalid) -> Int {
        guard let text = string(name) else { return value }
        guard let parsed = Int(text), range.contains(parsed) else {
            throw Invalid(message: "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text.prefix(64))'")
        }
        return parsed
    }

    /// The latest time a query may name: `Int64.max` nanoseconds, 2262-04-11T23:47:16Z. Query
    /// arithmetic (windows, buckets, `end + 1`) has headroom above it, so no parameter can trap it.
    static let latestTime = UInt64(Int64.max)

    /// A point in time: Unix nanoseconds or RFC 3339, from 1970 to `latestTime`.
    func time(_ name: String) throws(Invalid) -> UInt64? {
        guard let text = string(name) else { return nil }
        // An offset typed unencoded into a URL (`…T10:00:00+01:00`) arrives with a space for its `+`.
        let parsed = TimestampText.unixNano(nanosOrRFC3339: text)
            ?? (text.contains(" ") ? TimestampText.unixNano(nanosOrRFC3339: text.replacingOccurrences(of: " ", with: "+")) : nil)
        guard let nanos = parsed else {
            if text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) || (text.count >= 4 && Int(text.prefix(4)).map { $0 > 2262 } == true) {
                throw Invalid(message: "\(name) must be between 1970-01-01T00:00:00Z and 2262-04-11T23:47:16Z (Unix nanoseconds 0 to \(Self.latestTime)), got '\(text.prefix(64))'")
            }
            throw Invalid(message: "\(name) must be Unix nanoseconds or RFC 3339 (2026-01-02T15:04:05Z), got '\(text.prefix(64))'")
        }
        guard nanos <= Self.latestTime else {
            throw Invalid(message: "\(name) must be between 1970-01-01T00:00:00Z and 2262-04-11T23:47:16Z (Unix nanoseconds 0 to \(Self.latestTime)), got '\(text.prefix(64))'")
        }
        return nanos
    }

    /// A duration: nanoseconds, or a number with ns, us, µs, ms, s, m, h or d.
    func duration(_ name: String) throws(Invalid) -> UInt64? {
        guard let text = string(name) else { return nil }
        guard let nanos = DurationText.nanos(text), nanos <= Self.latestTime else {
            throw Invalid(message: "\(name) must be a duration such as 250ms, 1.5s or 2m (at most 106751d), got '\(text.prefix(64))'")
        }
        return nanos
    }

    func traceID(_ name: String) throws(Invalid) -> TraceID? {
        guard let text = string(name) else { return nil }
        guard let id = TraceID(hex: text) else { throw Invalid(message: "\(name) must be 32 hex digits, got '\(text.prefix(64))'") }
        return id
    }

    /// `warn`, `ERROR`, … → the least OTLP severity number of that level.
    static func severity(_ text: String) -> Int? {
        switch text.lowercased() {
        case "trace": return 1
        case "debug": return 5
        case "info": return 9
        case "warn", "warning": return 13
        case "error": return 17
        case "fatal": return 21
        default: return nil
        }
    }
}
