import Foundation
import Hummingbird
import PeriscopeTelemetry

/// Reads query-string parameters with one clear error per bad value.
struct QueryParameters {
    let parameters: Parameters

    struct Invalid: Error {
        var message: String
    }

    func string(_ name: String) -> String? {
        guard let value = parameters[name[...]], !value.isEmpty else { return nil }
        return String(value)
    }

    func all(_ name: String) -> [String] {
        parameters.getAll(name).map { String($0) }
    }

    func integer(_ name: String, in range: ClosedRange<Int>, default value: Int) throws(Invalid) -> Int {
        guard let text = string(name) else { return value }
        guard let parsed = Int(text), range.contains(parsed) else {
            throw Invalid(message: "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return parsed
    }

    /// A point in time: Unix nanoseconds or RFC 3339.
    func time(_ name: String) throws(Invalid) -> UInt64? {
        guard let text = string(name) else { return nil }
        if let nanos = UInt64(text) { return nanos }
        if let date = Self.parseRFC3339(text) { return UInt64(max(0, date.timeIntervalSince1970) * 1e9) }
        throw Invalid(message: "\(name) must be Unix nanoseconds or RFC 3339 (2026-01-02T15:04:05Z), got '\(text)'")
    }

    /// A duration: nanoseconds, or a number with ns, us, µs, ms, s, m, h or d.
    func duration(_ name: String) throws(Invalid) -> UInt64? {
        guard let text = string(name) else { return nil }
        guard let nanos = DurationText.nanos(text) else {
            throw Invalid(message: "\(name) must be a duration such as 250ms, 1.5s or 2m, got '\(text)'")
        }
        return nanos
    }

    func traceID(_ name: String) throws(Invalid) -> TraceID? {
        guard let text = string(name) else { return nil }
        guard let id = TraceID(hex: text) else { throw Invalid(message: "\(name) must be 32 hex digits, got '\(text.prefix(64))'") }
        return id
    }

    static func parseRFC3339(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
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
