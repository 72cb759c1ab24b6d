import PeriscopeModel
import PeriscopeQueryAPI

/// Log records as aligned lines, in time order:
///
/// ```
/// 2024-05-01T12:34:56.789Z  checkout  INFO   charging card  trace=4bf92f35 span=00f067aa0ba902b7
/// ```
struct LogsRenderer: Sendable {
    var style: Style = .plain
    /// Also print each record's attributes (`key=value`, sorted) after the message.
    var verbose: Bool = false

    func render(_ logs: QueryAPI.Logs) -> String {
        // The collector answers oldest first; sort anyway (stable) so the promise holds.
        let records = logs.logs.enumerated().sorted {
            let a = Self.time(of: $0.element), b = Self.time(of: $1.element)
            return a != b ? a < b : $0.offset < $1.offset
        }.map(\.element)
        let serviceWidth = records.map { Text.width(Text.sanitize($0.service)) }.max() ?? 0
        // Wide enough for the usual names; an unusual long level only pushes its own line.
        let levelWidth = min(7, max(5, records.map { Text.width(Self.level(of: $0)) }.max() ?? 0))
        var out = ""
        for record in records {
            let level = Self.level(of: record)
            var line = Timestamp.rfc3339(unixNanos: Self.time(of: record))
            line += "  " + Text.padRight(Text.sanitize(record.service), serviceWidth)
            line += "  " + colored(level, severity: Self.severity(of: record)) + String(repeating: " ", count: max(0, levelWidth - Text.width(level)))
            line += "  " + Text.sanitize(record.body.text)
            if verbose, !record.attributes.isEmpty {
                line += "  " + record.attributes.keys.sorted().map {
                    style.color(Text.sanitize($0), .gray) + "=" + Text.sanitize(record.attributes[$0]?.text ?? "")
                }.joined(separator: " ")
            }
            var ids: [String] = []
            if let trace = record.traceID { ids.append("trace=" + (verbose ? trace.hex : String(trace.hex.prefix(8)))) }
            if let span = record.spanID { ids.append("span=" + span.hex) }
            if !ids.isEmpty { line += "  " + style.dim(ids.joined(separator: " ")) }
            out += Text.trimTrailingSpaces(line) + "\n"
        }
        return out
    }

    /// The event time, or the observed time when the source gave none.
    static func time(of record: QueryAPI.Log) -> UInt64 {
        record.timeUnixNano != 0 ? record.timeUnixNano : record.observedTimeUnixNano
    }

    /// The source's level text, or the range name of the severity number.
    static func level(of record: QueryAPI.Log) -> String {
        let text = Text.sanitize(String(record.severityText.trimmingSpaces))
        if !text.isEmpty { return text }
        return (1...24).contains(record.severityNumber) ? Severity(rawValue: record.severityNumber).name : "-"
    }

    /// The severity number, or one read from the level text when the number is missing.
    static func severity(of record: QueryAPI.Log) -> Severity {
        if (1...24).contains(record.severityNumber) { return Severity(rawValue: record.severityNumber) }
        switch record.severityText.trimmingSpaces.uppercased() {
        case "TRACE": return .trace
        case "DEBUG": return .debug
        case "INFO", "INFORMATION", "NOTICE": return .info
        case "WARN", "WARNING": return .warn
        case "ERROR", "ERR": return .error
        case "FATAL", "CRITICAL", "CRIT", "ALERT", "EMERGENCY", "PANIC": return .fatal
        default: return .unspecified
        }
    }

    func colored(_ level: String, severity: Severity) -> String {
        switch severity.rawValue {
        case 1...8: return style.color(level, .gray)
        case 9...12: return style.color(level, .green)
        case 13...16: return style.color(level, .yellow)
        case 17...20: return style.color(level, .red)
        case 21...24: return style.boldColor(level, .red)
        default: return level
        }
    }
}
