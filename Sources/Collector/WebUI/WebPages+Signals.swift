import Foundation
import PeriscopeModel
import PeriscopeQueryAPI

/// The golden signals page and its request charts.
extension WebPages {
    // MARK: - Signals

    func signals(_ form: Form, answer: QueryAPI.Signals?, error: String?) -> String {
        var body = """
            <h1>Golden signals</h1>
            <form method="get" action="/ui/signals" class="search">
            \(field("service", "Service", form))
            \(select("by", "Per", form, options: [("service", "service"), ("operation", "operation")], default: "service"))
            \(since(form, default: "1h", allowAll: false))
            <button type="submit">Show</button>
            </form>
            \(self.error(error))
            """
        guard let answer else { return page("Signals", section: .signals, body) }
        guard !answer.rows.isEmpty else {
            return page("Signals", section: .signals, body + note("No requests in this range: server and consumer spans make the signals."))
        }
        let byOperation = answer.rows.contains { $0.operation != nil }
        body += "<table class=\"results\"><thead><tr><th>Service</th>\(byOperation ? "<th>Operation</th>" : "")<th>Requests</th><th>Per second</th>"
            + "<th>Errors</th><th>p50</th><th>p90</th><th>p99</th><th>Saturation</th><th>Requests over time</th></tr></thead><tbody>"
        for row in answer.rows {
            let search = [("service", row.service)] + (row.operation.map { [("operation", $0)] } ?? []) + [("since", form["since"].isEmpty ? "1h" : form["since"])]
            body += "<tr\(row.errorRatio > 0.01 ? " class=\"failed\"" : "")><td>\(HTML.link("/ui/", search, text: row.service))</td>"
                + (byOperation ? "<td>\(HTML.text(row.operation ?? ""))</td>" : "")
                + "<td class=\"number\">\(row.requests)</td><td class=\"number\">\(String(format: "%.2f", row.requestsPerSecond))</td>"
                + "<td class=\"number\">\(row.errors) (\(HTML.percent(row.errorRatio, decimals: 2)))</td>"
                + "<td class=\"number\">\(row.latency.map { HTML.duration($0.p50) } ?? "–")</td>"
                + "<td class=\"number\">\(row.latency.map { HTML.duration($0.p90) } ?? "–")</td>"
                + "<td class=\"number\">\(row.latency.map { HTML.duration($0.p99) } ?? "–")</td>"
                + "<td class=\"number\">\(row.saturation.map { HTML.percent($0) } ?? "–")</td>"
                + "<td>\(Self.sparkline(row.series, errors: row.errorSeries, stepSeconds: answer.seriesStepSeconds))</td></tr>"
        }
        body += "</tbody></table>"
        if let total = answer.totalRows, total > answer.rows.count {
            body += note("Showing \(answer.rows.count) of \(total) rows.")
        }
        return page("Signals", section: .signals, body)
    }

    /// Points a sparkline draws at most: longer series are summed in neighbouring groups.
    static let maxSparklinePoints = 120

    /// Requests per step over the range as a small SVG line, scaled to its own highest step.
    static func sparkline(_ series: [Int], errors: [Int] = [], stepSeconds: Int) -> String {
        traffic(series, errors: errors, stepSeconds: stepSeconds, width: 120, height: 24, class: "spark")
    }

    /// Requests (and failed requests, red, when any failed) per step as SVG lines on one scale,
    /// `width` × `height`; at most `maxSparklinePoints` points, longer series summed in groups.
    static func traffic(_ series: [Int], errors: [Int], stepSeconds: Int, width: Int, height: Int, class name: String) -> String {
        guard series.count >= 2 else { return "–" }
        let group = (series.count + maxSparklinePoints - 1) / maxSparklinePoints
        func grouped(_ values: [Int]) -> [Int] {
            var points: [Int] = []
            points.reserveCapacity(values.count / group + 1)
            var index = 0
            while index < values.count {
                points.append(values[index..<min(index + group, values.count)].reduce(0) { $0 &+ max($1, 0) })
                index += group
            }
            return points
        }
        let points = grouped(series)
        guard points.count >= 2 else { return "–" }
        let failures = errors.count == series.count ? grouped(errors) : []
        let most = points.max() ?? 0
        let highest = Double(max(most, failures.max() ?? 0, 1))
        let step = Double(width) / Double(points.count - 1)
        let (top, room) = (2.0, Double(height) - 4)
        func line(_ values: [Int]) -> String {
            values.enumerated().map {
                String(format: "%.1f,%.1f", Double($0.offset) * step, top + room - Double($0.element) / highest * room)
            }.joined(separator: " ")
        }
        let failed = failures.reduce(0) { $0 &+ $1 }
        return "<svg class=\"\(name)\" viewBox=\"0 0 \(width) \(height)\" preserveAspectRatio=\"none\" role=\"img\" "
            + "aria-label=\"requests per \(HTML.duration(Double(stepSeconds) * Double(group) * 1e9)), at most \(most)\(failed > 0 ? ", \(failed) failed" : "")\">"
            + "<polyline points=\"\(line(points))\"/>"
            + (failed > 0 ? "<polyline class=\"errors\" points=\"\(line(failures))\"/>" : "") + "</svg>"
    }
}
