import Foundation
import PeriscopeQueryAPI

/// SLOs for people on call: one row per SLO with its SLI, budget left, the burn rates of
/// the alerting windows and what fires; and the detail view with the budget over time.
struct SLORenderer: Sendable {
    var width: Int
    var style: Style = .plain

    static let gap = "  "

    func render(_ list: QueryAPI.SLOList) -> String {
        guard !list.slos.isEmpty else { return "" }
        let headers = ["SLO", "OBJECTIVE", "SLI", "BUDGET LEFT", "BURN 5m", "1h", "6h", "1d", "3d", "ALERTS"]
        let rows = list.slos.map { slo -> [String] in
            let rates = Dictionary(uniqueKeysWithValues: slo.burnRates.map { ($0.window, $0.rate) })
            return [
                Text.sanitize(slo.name), Self.objective(slo.objective), slo.sli.map { Self.percent($0, decimals: 3) } ?? "-",
                Self.budget(slo.budgetRemaining),
                Self.burn(rates["5m"] ?? nil), Self.burn(rates["1h"] ?? nil), Self.burn(rates["6h"] ?? nil),
                Self.burn(rates["1d"] ?? nil), Self.burn(rates["3d"] ?? nil),
                Self.firing(slo),
            ]
        }
        let widths = headers.indices.map { column in
            max(Text.width(headers[column]), rows.map { Text.width($0[column]) }.max() ?? 0)
        }
        func line(_ cells: [String]) -> String {
            Text.trimTrailingSpaces(cells.enumerated().map { column, cell in
                column == 0 || column == cells.count - 1 ? Text.padRight(cell, widths[column]) : Text.padLeft(cell, widths[column])
            }.joined(separator: Self.gap))
        }
        var lines = [style.dim(line(headers))]
        for (index, cells) in rows.enumerated() {
            var text = line(cells)
            let slo = list.slos[index]
            if slo.firing.contains(where: { $0.severity == "page" }) {
                text = style.boldColor(text, .red)
            } else if !slo.firing.isEmpty || slo.budgetRemaining <= 0 {
                text = style.color(text, .yellow)
            }
            lines.append(text)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func render(_ detail: QueryAPI.SLODetail) -> String {
        let slo = detail.status
        var lines = [String]()
        lines.append(style.bold(Text.sanitize(slo.name)) + "  " + style.dim(describe(slo)))
        lines.append("objective \(Self.objective(slo.objective)) over \(DurationFormat.string(nanos: UInt64(slo.windowSeconds) * 1_000_000_000))"
            + " · SLI \(slo.sli.map { Self.percent($0, decimals: 3) } ?? "no traffic")"
            + " · \(Self.count(slo.good)) good of \(Self.count(slo.total))")
        var budgetLine = "error budget \(Self.percent(slo.errorBudget, decimals: 3)) · left \(Self.budget(slo.budgetRemaining))"
        if let exhaustion = slo.timeToExhaustionSeconds {
            budgetLine += exhaustion == 0 ? " · exhausted" : " · gone in \(DurationFormat.string(nanos: UInt64(min(exhaustion, 1e9) * 1e9))) at the last hour's rate"
        }
        lines.append(budgetLine)
        lines.append("")
        lines.append(style.dim("BURN RATES"))
        lines.append(slo.burnRates.map { "\($0.window) \(Self.burn($0.rate))" }.joined(separator: "  "))
        lines.append("")
        lines.append(style.dim("ALERTS (both windows above the threshold)"))
        for alert in slo.alerts {
            let mark = alert.firing ? style.boldColor("FIRING", alert.severity == "page" ? .red : .yellow) : style.dim("ok    ")
            lines.append("\(mark)  \(Text.padRight(alert.severity, 6)) \(alert.longWindow)/\(alert.shortWindow) > \(Self.number(alert.threshold))")
        }
        if !detail.budgetHistory.isEmpty {
            lines.append("")
            lines.append(style.dim("BUDGET LEFT OVER THE WINDOW (oldest → now)"))
            let values = detail.budgetHistory.map { max(0, $0.budgetRemaining) }
            lines.append(Sparkline.render(values, width: min(60, max(10, width - 20)))
                + "  " + Self.budget(detail.budgetHistory.last?.budgetRemaining ?? 1))
        }
        if !detail.alertEvents.isEmpty {
            lines.append("")
            lines.append(style.dim("ALERT HISTORY"))
            for event in detail.alertEvents.suffix(20) {
                lines.append("\(Timestamp.rfc3339(unixNanos: event.timeUnixNano))  \(event.severity)  \(event.firing ? "started firing" : "resolved")")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func describe(_ slo: QueryAPI.SLOStatus) -> String {
        [slo.service, slo.operation].compactMap { $0 }.map(Text.sanitize).joined(separator: " ") + " · " + slo.indicator
    }

    static func firing(_ slo: QueryAPI.SLOStatus) -> String {
        let firing = slo.firing
        guard !firing.isEmpty else { return "-" }
        return firing.map { "\($0.severity) \($0.longWindow)/\($0.shortWindow)" }.joined(separator: ", ")
    }

    static func objective(_ percent: Double) -> String {
        (percent == percent.rounded() && abs(percent) < Self.exactInteger ? String(Int(percent)) : String(percent)) + "%"
    }

    static func percent(_ ratio: Double, decimals: Int) -> String {
        String(format: "%.\(decimals)f%%", ratio * 100)
    }

    static func budget(_ remaining: Double) -> String {
        if remaining.isInfinite { return remaining > 0 ? "100%" : "exhausted" }
        return remaining <= 0 ? "exhausted (\(percent(remaining, decimals: 0)))" : percent(remaining, decimals: 1)
    }

    static func burn(_ rate: Double?) -> String {
        guard let rate else { return "-" }
        if rate.isInfinite { return "∞" }
        return number(rate)
    }

    /// Whole numbers print as integers while an `Int` holds them exactly; a server's answer can
    /// hold anything a double can, so beyond that (and for infinities and NaN) they print as doubles.
    static func number(_ value: Double) -> String {
        guard value.isFinite, abs(value) < Self.exactInteger else { return String(format: "%g", value) }
        return value >= 100 ? String(Int(value.rounded())) : String(format: value >= 10 ? "%.1f" : "%.2f", value)
    }

    static func count(_ value: Double) -> String {
        guard value.isFinite, abs(value) < Self.exactInteger else { return String(format: "%g", value) }
        return value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }

    private static let exactInteger = Double(UInt64(1) << 53)
}
