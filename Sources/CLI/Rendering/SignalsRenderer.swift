import PeriscopeQueryAPI

/// The golden signals as a table, one row per service (or operation):
///
/// ```
/// SERVICE    OPERATION        RATE   ERR%    P50     P90     P99    SAT  TRAFFIC
/// checkout   POST /checkout  2.1/s   5.0%  4.56ms  9.80ms  41.2ms   35%  ▁▂▅█▃▂
/// ```
///
/// In colour, the traffic's steps that had failed requests are red.
struct SignalsRenderer: Sendable {
    var width: Int
    var style: Style = .plain

    static let gap = "  "
    static let sparklineWidth = 16

    func render(_ signals: QueryAPI.Signals) -> String {
        let byOperation = signals.rows.contains { $0.operation != nil }
        var headers = ["SERVICE"]
        if byOperation { headers.append("OPERATION") }
        headers += ["RATE", "ERR%", "P50", "P90", "P99", "SAT", "TRAFFIC"]
        let rows = signals.rows.map { row -> [String] in
            var cells = [Text.sanitize(row.service)]
            if byOperation { cells.append(Text.sanitize(row.operation ?? "")) }
            cells.append(Self.rate(row.requestsPerSecond))
            cells.append(Self.percent(row.errorRatio))
            for value in [row.latency?.p50, row.latency?.p90, row.latency?.p99] {
                cells.append(value.map { DurationFormat.string(nanos: UInt64($0.rounded())) } ?? "-")
            }
            cells.append(row.saturation.map { Self.percent($0, decimals: 0) } ?? "-")
            cells.append(Sparkline.render(row.series.map(Double.init), width: Self.sparklineWidth))
            return cells
        }
        var widths = headers.indices.map { column in
            max(Text.width(headers[column]), rows.map { Text.width($0[column]) }.max() ?? 0)
        }
        // Fit the terminal: the name columns give way first.
        let total = widths.reduce(0, +) + Self.gap.count * (widths.count - 1)
        if total > width {
            let nameColumns = byOperation ? [0, 1] : [0]
            var excess = total - width
            for column in nameColumns.reversed() where excess > 0 {
                let cut = min(excess, max(0, widths[column] - 8))
                widths[column] -= cut
                excess -= cut
            }
        }
        let numeric = Set((byOperation ? 2 : 1)..<(headers.count - 1))
        func line(_ cells: [String], highlight: (Int, String) -> String = { $1 }) -> String {
            let padded = cells.enumerated().map { column, cell -> String in
                let text = Text.truncate(cell, to: widths[column])
                let aligned = numeric.contains(column) ? Text.padLeft(text, widths[column]) : Text.padRight(text, widths[column])
                return highlight(column, aligned)
            }
            return Text.trimTrailingSpaces(padded.joined(separator: Self.gap))
        }
        var lines = [style.dim(line(headers))]
        let errorColumn = byOperation ? 3 : 2
        let trafficColumn = headers.count - 1
        for (index, cells) in rows.enumerated() {
            let row = signals.rows[index]
            let failed = Sparkline.failedColumns(row.errorSeries.map(Double.init), of: row.series.map(Double.init), width: Self.sparklineWidth)
            lines.append(line(cells) { column, text in
                if column == trafficColumn, failed.contains(true) {
                    return text.enumerated().map { offset, character in
                        offset < failed.count && failed[offset] ? style.color(String(character), .red) : String(character)
                    }.joined()
                }
                return column == errorColumn && row.errors > 0 ? style.color(text, row.errorRatio >= 0.05 ? .red : .yellow) : text
            })
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func rate(_ perSecond: Double) -> String {
        if perSecond == 0 { return "0/s" }
        // Whatever the server answered: no rate is this large, but printing it must not trap.
        guard perSecond.isFinite, perSecond < 1e15 else { return String(format: "%g/s", perSecond) }
        if perSecond >= 100 { return "\(Int(perSecond.rounded()))/s" }
        if perSecond >= 1 { return String(format: "%.1f/s", perSecond) }
        let perMinute = perSecond * 60
        return perMinute >= 1 ? String(format: "%.1f/min", perMinute) : String(format: "%.2f/min", perMinute)
    }

    static func percent(_ ratio: Double, decimals: Int = 1) -> String {
        String(format: "%.\(decimals)f%%", ratio * 100)
    }
}
