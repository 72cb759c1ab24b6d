import PeriscopeModel
import PeriscopeQueryAPI

/// `periscope trace ID --stats`: the statistics as a table.
///
/// ```
/// trace 4bf92f3577b34da6a3ce929d0e0e4736  10.0ms  5 spans
/// SERVICE   OPERATION          SPANS  ERRORS   TOTAL     AVG     MAX    SELF  SELF%
/// payments  charge card            1       1  5.00ms  5.00ms  5.00ms  5.00ms  50.0%
/// ```
struct TraceStatisticsRenderer: Sendable {
    var width: Int
    var style: Style = .plain

    func render(_ statistics: TraceStatistics) -> String {
        let header = style.bold("trace \(statistics.traceID.hex)") + "  " + DurationFormat.string(nanos: statistics.durationNanos)
            + "  " + Text.plural(statistics.spanCount, "span")
        let numbers = statistics.rows.map { row in
            [
                String(row.spans), String(row.errors), DurationFormat.string(nanos: row.totalNanos), DurationFormat.string(nanos: row.averageNanos),
                DurationFormat.string(nanos: row.maxNanos), DurationFormat.string(nanos: row.selfNanos),
                Self.percent(row.selfNanos, of: statistics.durationNanos),
            ]
        }
        let titles = ["SPANS", "ERRORS", "TOTAL", "AVG", "MAX", "SELF", "SELF%"]
        let numberWidths = titles.indices.map { column in max(Text.width(titles[column]), numbers.map { Text.width($0[column]) }.max() ?? 0) }
        let numbersWidth = numberWidths.reduce(0) { $0 + $1 + 2 }
        let services = statistics.rows.map { Text.sanitize($0.service) }
        let operations = statistics.rows.map { Text.sanitize($0.operation) }
        // Names take what the numbers leave, the service at most a third of it.
        let room = max(20, width - numbersWidth - 2)
        let serviceWidth = min(max(7, services.map(Text.width).max() ?? 0), max(7, room / 3))
        let operationWidth = min(max(9, operations.map(Text.width).max() ?? 0), max(9, room - serviceWidth))
        func line(_ service: String, _ operation: String, _ cells: [String]) -> String {
            var text = Text.padRight(Text.truncate(service, to: serviceWidth), serviceWidth) + "  "
                + Text.padRight(Text.truncate(operation, to: operationWidth), operationWidth)
            for (cell, cellWidth) in zip(cells, numberWidths) { text += "  " + Text.padLeft(cell, cellWidth) }
            return text
        }
        var lines = [header, style.dim(line("SERVICE", "OPERATION", titles))]
        for (index, row) in statistics.rows.enumerated() {
            var text = line(services[index], operations[index], numbers[index])
            if row.errors > 0 { text = style.color(text, .red) }
            lines.append(text)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `part / whole` as a percentage with one decimal ("–" for an empty whole).
    static func percent(_ part: UInt64, of whole: UInt64) -> String {
        guard whole > 0 else { return "–" }
        let tenths = (Double(part) / Double(whole) * 1000).rounded()
        return "\(Int(tenths) / 10).\(Int(tenths) % 10)%"
    }
}
