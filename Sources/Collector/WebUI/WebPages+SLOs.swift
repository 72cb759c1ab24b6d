import Foundation
import PeriscopeModel
import PeriscopeQueryAPI

/// The SLO list and one SLO's page.
extension WebPages {
    // MARK: - SLOs

    /// `form`: `service` keeps the SLOs whose service holds the text (any case); `sort=budget`
    /// puts the least budget left first (as configured otherwise).
    func slos(_ answer: QueryAPI.SLOList?, form: Form = Form([]), error: String?) -> String {
        var body = """
            <h1>Service level objectives</h1>
            <form method="get" action="/ui/slos" class="search">
            \(field("service", "Service", form))
            \(select("sort", "Order", form, options: [("", "as configured"), ("budget", "least budget left first")], default: ""))
            <button type="submit">Show</button>
            </form>
            \(self.error(error))
            """
        guard let answer else { return page("SLOs", section: .slos, body) }
        guard !answer.slos.isEmpty else {
            return page("SLOs", section: .slos, body + note("No SLOs: start the collector with <code>--slo slo.yaml</code>."))
        }
        let wanted = form["service"].lowercased()
        var shown = wanted.isEmpty ? answer.slos : answer.slos.filter { ($0.service ?? "").lowercased().contains(wanted) }
        if form["sort"] == "budget" {
            shown = shown.enumerated().sorted { a, b in
                // An unknown budget (NaN) last; an infinitely overspent one (−∞: a 100 % objective that failed) first.
                let x = a.element.budgetRemaining.isNaN ? .infinity : a.element.budgetRemaining
                let y = b.element.budgetRemaining.isNaN ? .infinity : b.element.budgetRemaining
                return x != y ? x < y : a.offset < b.offset
            }.map(\.element)
        }
        guard !shown.isEmpty else {
            return page("SLOs", section: .slos, body + note("No SLO's service holds “\(HTML.text(wanted))”."))
        }
        body += "<p class=\"summary\">Evaluated at \(HTML.time(answer.evaluatedAtUnixNano)).</p>"
        body += "<table class=\"results\"><thead><tr><th>SLO</th><th>Service</th><th>Indicator</th><th>Objective</th><th>SLI</th>"
            + "<th>Budget left</th><th>Burn rates</th><th>Firing</th></tr></thead><tbody>"
        for slo in shown {
            let firing = slo.firing.map { "\(HTML.text($0.severity)) (\(HTML.text($0.longWindow))/\(HTML.text($0.shortWindow)) &gt; \(String(format: "%g", $0.threshold)))" }
            let rates = slo.burnRates.map { rate in
                "\(HTML.text(rate.window)) " + (rate.rate.map { String(format: "%.2f", $0) } ?? "–")
            }.joined(separator: " · ")
            let location = [slo.service, slo.operation].compactMap { $0 }.map(HTML.text).joined(separator: ": ")
            body += "<tr\(firing.isEmpty && slo.budgetRemaining > 0 ? "" : " class=\"failed\"")><td><a href=\"/ui/slos/\(HTML.pathSegment(slo.name))\">\(HTML.text(slo.name))</a></td><td>\(location)</td>"
                + "<td>\(HTML.text(slo.indicator))</td><td class=\"number\">\(String(format: "%g", slo.objective))%</td>"
                + "<td class=\"number\">\(slo.sli.map { HTML.percent($0, decimals: 3) } ?? "–")</td>"
                + "<td class=\"number\">\(HTML.percent(slo.budgetRemaining))</td><td>\(rates)</td>"
                + "<td>\(firing.isEmpty ? "–" : firing.joined(separator: "<br>"))</td></tr>"
        }
        body += "</tbody></table>"
        return page("SLOs", section: .slos, body)
    }

    // MARK: - One SLO

    /// `traffic`: the SLO's service (or operation) over its window, from the golden signals.
    func slo(_ detail: QueryAPI.SLODetail, traffic: (row: QueryAPI.SignalRow, stepSeconds: Int)? = nil) -> String {
        let slo = detail.status
        let location = [slo.service, slo.operation].compactMap { $0 }.map(HTML.text).joined(separator: ": ")
        var body = """
            <h1>SLO \(HTML.text(slo.name))</h1>
            <p class="summary">\(location.isEmpty ? "" : location + " · ")\(HTML.text(slo.indicator)) · objective \(String(format: "%g", slo.objective))% \
            over \(HTML.duration(Double(slo.windowSeconds) * 1e9)) · SLI \(slo.sli.map { HTML.percent($0, decimals: 3) } ?? "– (no traffic)") · \
            budget left \(HTML.percent(slo.budgetRemaining))\(slo.budgetRemaining <= 0 ? " · exhausted"
                : slo.timeToExhaustionSeconds.map { " · gone in " + HTML.duration(min($0, 1e9) * 1e9) + " at the last hour's rate" } ?? "")</p>
            """
        body += "<h2>Error budget left over the window</h2>" + budgetChart(detail.budgetHistory)
        if let traffic {
            body += "<h2>Its service's requests and failed requests over the window</h2>"
                + Self.traffic(traffic.row.series, errors: traffic.row.errorSeries, stepSeconds: traffic.stepSeconds, width: 1_000, height: 160, class: "chart traffic")
                + "<p class=\"summary\">\(traffic.row.requests) requests, \(traffic.row.errors) failed (\(HTML.percent(traffic.row.errorRatio, decimals: 2))), "
                + "per \(HTML.duration(Double(traffic.stepSeconds) * 1e9)); failures in red.</p>"
        }
        body += "<h2>Burn rates</h2><table class=\"results narrow\"><thead><tr><th>Window</th><th>Burn rate</th></tr></thead><tbody>"
        for rate in slo.burnRates {
            body += "<tr\((rate.rate ?? 0) > 1 ? " class=\"failed\"" : "")><td>\(HTML.text(rate.window))</td>"
                + "<td class=\"number\">\(rate.rate.map { String(format: "%.2f", $0) } ?? "– (no traffic)")</td></tr>"
        }
        body += "</tbody></table><h2>Alerts</h2><table class=\"results narrow\"><thead><tr><th>Severity</th><th>Windows</th><th>Threshold</th><th>Now</th></tr></thead><tbody>"
        for alert in slo.alerts {
            body += "<tr\(alert.firing ? " class=\"failed\"" : "")><td>\(HTML.text(alert.severity))</td><td>\(HTML.text(alert.longWindow)) and \(HTML.text(alert.shortWindow))</td>"
                + "<td class=\"number\">\(String(format: "%g", alert.threshold))</td><td>\(alert.firing ? "firing" : "–")</td></tr>"
        }
        body += "</tbody></table><h2>Alert history</h2>"
        if detail.alertEvents.isEmpty {
            body += note("No alert has fired or resolved yet.")
        } else {
            body += "<table class=\"results narrow\"><thead><tr><th>Time (UTC)</th><th>Severity</th><th>Change</th></tr></thead><tbody>"
            for event in detail.alertEvents {
                body += "<tr\(event.firing ? " class=\"failed\"" : "")><td>\(HTML.time(event.timeUnixNano))</td><td>\(HTML.text(event.severity))</td>"
                    + "<td>\(event.firing ? "fired" : "resolved")</td></tr>"
            }
            body += "</tbody></table>"
        }
        return page("SLO \(slo.name)", section: .slos, body)
    }

    /// The budget left over time as an SVG line: 100 % at the top, 0 % on the marked line, an
    /// overspent budget below it.
    func budgetChart(_ points: [QueryAPI.BudgetPoint]) -> String {
        let values = points.map { $0.budgetRemaining.isFinite ? min(max($0.budgetRemaining, -10), 1) : 0 }
        guard values.count >= 2 else { return note("Not enough history yet.") }
        let lowest = min(values.min() ?? 0, 0)
        let span = 1 - lowest
        func y(_ value: Double) -> String { String(format: "%.1f", (1 - value) / span * 190 + 5) }
        let step = 1_000 / Double(values.count - 1)
        let line = values.enumerated().map { String(format: "%.1f", Double($0.offset) * step) + "," + y($0.element) }.joined(separator: " ")
        return "<svg class=\"chart\" viewBox=\"0 0 1000 200\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"budget left, "
            + "\(HTML.percent(values.first ?? 0)) to \(HTML.percent(values.last ?? 0))\">"
            + "<line class=\"zero\" x1=\"0\" x2=\"1000\" y1=\"\(y(0))\" y2=\"\(y(0))\"/>"
            + "<polyline class=\"budget\" points=\"\(line)\"/></svg>"
            + "<p class=\"summary\">\(HTML.time(points.first?.timeUnixNano ?? 0)) … \(HTML.time(points.last?.timeUnixNano ?? 0)): "
            + "\(HTML.percent(points.first?.budgetRemaining ?? 0)) → \(HTML.percent(points.last?.budgetRemaining ?? 0))"
            + (values.contains(-10) ? " (the line stops at −1000 %)" : "") + "</p>"
    }
}
