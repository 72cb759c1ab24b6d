import Foundation
import PeriscopeConfig

/// `--since` / `--until`: a relative age (`15m`, `2h`, `7d`, `90s`, `1w`), `now`, Unix
/// nanoseconds, or an absolute RFC 3339 time (`2026-01-02T15:04:05Z`).
struct TimeRange: Sendable, Equatable {
    /// Inclusive bounds in Unix nanoseconds; `nil` is open.
    var startUnixNano: UInt64?
    var endUnixNano: UInt64?

    static let unbounded = TimeRange(startUnixNano: nil, endUnixNano: nil)

    /// Resolves the two flags against `now`. `defaultSince` (e.g. `24h`) applies when
    /// `--since` is not given. Throws a one-sentence `QueryError` for anything unreadable or
    /// a range that ends before it starts.
    static func resolve(since: String?, until: String?, defaultSince: String?, nowUnixNano: UInt64) throws -> TimeRange {
        let start = try (since ?? defaultSince).map { try point($0, flag: "--since", nowUnixNano: nowUnixNano) }
        let end = try until.map { try point($0, flag: "--until", nowUnixNano: nowUnixNano) }
        if let start, let end, start > end {
            throw QueryError("--since (\(Timestamp.rfc3339(unixNanos: start))) is after --until (\(Timestamp.rfc3339(unixNanos: end))): the range is empty")
        }
        return TimeRange(startUnixNano: start, endUnixNano: end)
    }

    /// One bound: a duration ago, `now`, Unix nanoseconds or RFC 3339.
    static func point(_ text: String, flag: String, nowUnixNano: UInt64) throws -> UInt64 {
        let trimmed = String(text.trimmingSpaces)
        if trimmed.lowercased() == "now" { return nowUnixNano }
        if let age = parseAge(trimmed) { return nowUnixNano > age ? nowUnixNano - age : 0 }
        if trimmed.count >= 16, let nanos = UInt64(trimmed) { return nanos }
        if let date = parseRFC3339(trimmed) {
            // Whole seconds and the fraction apart: a Double of Unix nanoseconds loses digits.
            let seconds = max(0, date.timeIntervalSince1970)
            let whole = seconds.rounded(.down)
            // Unix nanoseconds in 64 bits end in July 2554.
            guard whole < Self.lastWholeSecond else {
                throw QueryError("\(flag) '\(Text.sanitize(text))' is too far in the future: times go up to 2554-07-21")
            }
            return UInt64(whole) * 1_000_000_000 + UInt64(((seconds - whole) * 1e6).rounded()) * 1_000
        }
        throw QueryError("\(flag) '\(Text.sanitize(text))' is not a time: give an age like 15m, 2h or 7d, or an RFC 3339 time like 2026-01-02T15:04:05Z")
    }

    /// The first whole second whose Unix nanoseconds (plus a fraction) no longer fit in a `UInt64`.
    static let lastWholeSecond = Double(UInt64.max / 1_000_000_000)

    /// `15m`, `1h30m` → nanoseconds (`DurationText`; a bare number is not an age).
    static func parseAge(_ text: String) -> UInt64? {
        guard let last = text.last, last.isLetter else { return nil }
        return DurationText.nanos(text)
    }

    /// A span/trace duration filter (`250ms`, `1.5s`, `2m`, bare nanoseconds): nanoseconds.
    static func parseDuration(_ text: String) -> UInt64? {
        DurationText.nanos(String(text.trimmingSpaces))
    }

    static func parseRFC3339(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    static func nowUnixNano() -> UInt64 {
        UInt64(max(0, Date().timeIntervalSince1970) * 1e9)
    }

    /// The bounds as query parameters (`start`, `end`).
    var queryItems: [(String, String)] {
        var items: [(String, String)] = []
        if let startUnixNano { items.append(("start", String(startUnixNano))) }
        if let endUnixNano { items.append(("end", String(endUnixNano))) }
        return items
    }
}
