import PeriscopeQueryAPI

/// Trace search results as a table that fits the terminal:
///
/// ```
/// TIME (UTC)          ROOT                      DURATION  SPANS  ERRORS  TRACE
/// 05-01 12:00:00.000  frontend: GET /checkout     10.0ms      5       1  4bf92f3577b3
/// ```
///
/// The root column takes what the others leave; trace IDs are cut to 12 hex digits (enough
/// to be unique in practice, and `periscope trace` accepts the prefix) unless `verbose`.
struct TraceListRenderer: Sendable {
    var width: Int
    var verbose: Bool = false
    var style: Style = .plain

    static let shortIDLength = 12
    static let minimumRootWidth = 12
    static let gap = "  "

    func render(_ list: QueryAPI.TraceList) -> String {
        let headers = ["TIME (UTC)", "ROOT", "DURATION", "SPANS", "ERRORS", "TRACE"]
        let times = list.traces.map { Timestamp.short(unixNanos: $0.startTimeUnixNano) }
        let roots = list.traces.map(Self.rootLabel)
        let durations = list.traces.map { DurationFormat.string(nanos: $0.durationNanos) }
        let spans = list.traces.map { String($0.spanCount) }
        let errors = list.traces.map { String($0.errorCount) }
        let ids = list.traces.map { verbose ? $0.traceID.hex : String($0.traceID.hex.prefix(Self.shortIDLength)) }

        func columnWidth(_ header: String, _ cells: [String]) -> Int {
            max(Text.width(header), cells.map(Text.width).max() ?? 0)
        }
        let timeWidth = columnWidth(headers[0], times)
        let durationWidth = columnWidth(headers[2], durations)
        let spansWidth = columnWidth(headers[3], spans)
        let errorsWidth = columnWidth(headers[4], errors)
        let idWidth = columnWidth(headers[5], ids)
        let fixed = timeWidth + durationWidth + spansWidth + errorsWidth + idWidth + 5 * Self.gap.count
        let rootWidth = min(columnWidth(headers[1], roots), max(Self.minimumRootWidth, width - fixed))

        var lines: [String] = []
        lines.append(style.dim(Text.trimTrailingSpaces(
            Text.padRight(headers[0], timeWidth) + Self.gap + Text.padRight(headers[1], rootWidth) + Self.gap
                + Text.padLeft(headers[2], durationWidth) + Self.gap + Text.padLeft(headers[3], spansWidth) + Self.gap
                + Text.padLeft(headers[4], errorsWidth) + Self.gap + headers[5])))
        for (index, summary) in list.traces.enumerated() {
            let root = Text.truncate(roots[index], to: rootWidth)
            let errorCell = Text.padLeft(errors[index], errorsWidth)
            let line = Text.padRight(times[index], timeWidth) + Self.gap
                + (summary.errorCount > 0 ? style.color(root, .red) : root)
                + String(repeating: " ", count: max(0, rootWidth - Text.width(root))) + Self.gap
                + Text.padLeft(durations[index], durationWidth) + Self.gap
                + Text.padLeft(spans[index], spansWidth) + Self.gap
                + (summary.errorCount > 0 ? style.boldColor(errorCell, .red) : errorCell) + Self.gap
                + style.color(ids[index], .gray)
            lines.append(Text.trimTrailingSpaces(line))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `service: operation`, or the services touched while the root span has not arrived.
    static func rootLabel(_ summary: QueryAPI.TraceSummary) -> String {
        if let service = summary.rootService, let name = summary.rootName {
            return Text.sanitize(service) + ": " + Text.sanitize(name)
        }
        return "(root not received) " + summary.services.map(Text.sanitize).joined(separator: ", ")
    }
}
