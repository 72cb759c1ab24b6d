import Foundation
import PeriscopeQueryAPI

/// One alert as Alertmanager's API takes it (`POST /api/v2/alerts`).
struct AlertmanagerAlert: Encodable, Equatable, Sendable {
    var labels: [String: String]
    var annotations: [String: String]
    /// RFC 3339: the evaluation that first found it firing. Sent every time: without it
    /// Alertmanager takes the end as the start, and each renewal would start the alert anew.
    var startsAt: String
    /// RFC 3339. In the future while firing (Alertmanager resolves it by itself if nothing
    /// renews it); the time it stopped once resolved.
    var endsAt: String
}

/// What to tell Alertmanager after each evaluation, the way Prometheus tells it about its own
/// alerts: every firing SLO alert again (so one lost request, or an Alertmanager restart, costs
/// nothing), valid for four evaluations or four minutes, whichever is longer; and each alert that
/// stopped firing, as resolved, for the next 15 minutes. One alert per SLO and severity, named
/// `ErrorBudgetBurn` as Pyrra names its own, labelled like the SLO's Prometheus series
/// (`CollectorExposition.seriesLabels`) plus `severity`.
///
/// The state lives in memory: after a restart, or when another collector sharing the store takes
/// the evaluation, an alert this one sent as firing ends by itself at its `endsAt`.
struct AlertmanagerAlerts: Sendable {
    static let alertName = "ErrorBudgetBurn"
    /// How long a resolved alert is sent again (Prometheus's own figure).
    static let resolvedResendNanos: UInt64 = 15 * 60 * 1_000_000_000

    let evaluationInterval: Duration
    private var firing: [Key: AlertmanagerAlert] = [:]
    private var resolved: [Key: (alert: AlertmanagerAlert, atUnixNano: UInt64)] = [:]

    private struct Key: Hashable {
        var slo: String
        var severity: String
    }

    init(evaluationInterval: Duration) {
        self.evaluationInterval = evaluationInterval
    }

    /// How long a firing alert holds without being renewed.
    var validityNanos: UInt64 {
        let interval = max(evaluationInterval, .seconds(60))
        let nanos = interval.components.seconds.multipliedReportingOverflow(by: 4_000_000_000)
        return nanos.overflow || nanos.partialValue < 0 ? UInt64(Int64.max) : UInt64(nanos.partialValue)
    }

    /// The alerts to send after an evaluation at `nowUnixNano`; empty when there is nothing to say.
    mutating func alerts(for statuses: [QueryAPI.SLOStatus], nowUnixNano: UInt64) -> [AlertmanagerAlert] {
        var nowFiring = [Key: AlertmanagerAlert]()
        let (until, overflow) = nowUnixNano.addingReportingOverflow(validityNanos)
        let endsAt = Self.rfc3339(overflow ? UInt64.max : until)
        for status in statuses {
            for severity in AlertTransitions.severities {
                let pairs = status.alerts.filter { $0.severity == severity && $0.firing }
                guard !pairs.isEmpty else { continue }
                var labels = Dictionary(CollectorExposition.seriesLabels(of: status), uniquingKeysWith: { first, _ in first })
                labels["alertname"] = Self.alertName
                labels["severity"] = severity
                let key = Key(slo: status.name, severity: severity)
                nowFiring[key] = AlertmanagerAlert(
                    labels: labels, annotations: Self.annotations(status, pairs), startsAt: firing[key]?.startsAt ?? Self.rfc3339(nowUnixNano),
                    endsAt: endsAt)
            }
        }
        for (key, alert) in firing where nowFiring[key] == nil {
            var alert = alert
            alert.endsAt = Self.rfc3339(nowUnixNano)
            resolved[key] = (alert, nowUnixNano)
        }
        for key in nowFiring.keys { resolved[key] = nil }
        resolved = resolved.filter { nowUnixNano < $0.value.atUnixNano || nowUnixNano - $0.value.atUnixNano < Self.resolvedResendNanos }
        firing = nowFiring
        let order = { (a: Key, b: Key) in (a.slo, a.severity) < (b.slo, b.severity) }
        return nowFiring.sorted { order($0.key, $1.key) }.map(\.value) + resolved.sorted { order($0.key, $1.key) }.map(\.value.alert)
    }

    private static func annotations(_ status: QueryAPI.SLOStatus, _ pairs: [QueryAPI.BurnRateAlert]) -> [String: String] {
        let rates = Dictionary(status.burnRates.map { ($0.window, $0.rate) }, uniquingKeysWith: { first, _ in first })
        func rate(_ window: String) -> String { (rates[window] ?? nil).map { String(format: "%.1f", $0) } ?? "no traffic" }
        let burning = pairs.map { "\($0.longWindow) at \(rate($0.longWindow)) and \($0.shortWindow) at \(rate($0.shortWindow)), above \(String(format: "%g", $0.threshold))" }
        var description = "Burn rate \(burning.joined(separator: "; ")). \(String(format: "%.1f", status.budgetRemaining * 100)) % of the error budget is left."
        if let seconds = status.timeToExhaustionSeconds {
            description += " At the last hour's rate it runs out in \(String(format: "%.1f", seconds / 3600)) h."
        }
        return [
            "summary": "SLO \(status.name) (\(status.indicator), objective \(String(format: "%g", status.objective)) %) is burning its error budget",
            "description": description,
        ]
    }

    static func rfc3339(_ unixNano: UInt64) -> String {
        Date(timeIntervalSince1970: Double(unixNano) / 1e9).formatted(.iso8601)
    }
}
