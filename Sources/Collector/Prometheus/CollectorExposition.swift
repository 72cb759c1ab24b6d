import PeriscopeModel
import PeriscopeQueryAPI
import PeriscopeServer
import Prometheus

/// The collector's `GET /metrics` in Prometheus's text format.
///
/// The SLOs' state: what Sloth's and Pyrra's recording rules compute, read straight from the
/// collector, so Prometheus can graph budgets and burn rates and Grafana can show them beside
/// everything else. Every SLO series carries the SLO's identity (`slo`, `service`,
/// `operation`) and its file's `labels`. A value the collector does not have (no traffic in a
/// window) is left out rather than written as 0 or NaN: an absent series is what PromQL's
/// `absent()` alerts on.
///
/// And ingest: items stored and rejected, duplicate batches and refused requests per signal
/// since the collector started (`IngestCounters`).
enum CollectorExposition {
    /// The content type Prometheus asks for and reads (text format 0.0.4).
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func text(
        _ statuses: [QueryAPI.SLOStatus], ingest: IngestCounters.Snapshot = .init(), alerting: AlertingCounters.Snapshot = .init()
    ) -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        add(ingest, to: registry)
        add(alerting, to: registry)
        /// `periscope_slo_<name>`.
        func gauge(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
            let descriptor = MetricNameDescriptor(namespace: "periscope", subsystem: "slo", metricName: name, unitName: "", helpText: help)
            registry.makeGauge(descriptor: descriptor, labels: labels).set(value)
        }
        for status in statuses {
            let identity = seriesLabels(of: status)
            gauge("objective_ratio", "The SLO's objective as a fraction (0.999 for 99.9 %; rounded to 12 places, as the budget is).", identity, (status.objective / 100 * 1e12).rounded() / 1e12)
            gauge("error_budget_ratio", "The fraction of events allowed to be bad: 1 - objective.", identity, status.errorBudget)
            gauge("window_seconds", "The SLO's rolling window.", identity, Double(status.windowSeconds))
            gauge("window_events", "Events over the window: kind=total counts all, kind=good the good ones.", identity + [("kind", "total")], status.total)
            gauge("window_events", "Events over the window: kind=total counts all, kind=good the good ones.", identity + [("kind", "good")], status.good)
            if let sli = status.sli {
                gauge("sli_ratio", "Good events / all events over the window; absent without traffic.", identity, sli)
            }
            gauge(
                "error_budget_remaining_ratio", "The share of the error budget left over the window: 1 untouched, 0 or less spent.",
                identity, status.budgetRemaining)
            for burn in status.burnRates {
                guard let rate = burn.rate else { continue }
                gauge(
                    "burn_rate", "Error ratio / error budget over the window named by 'window' (1 spends the budget exactly over the SLO window); absent without traffic.",
                    identity + [("window", burn.window)], rate)
            }
            if let seconds = status.timeToExhaustionSeconds {
                gauge("time_to_exhaustion_seconds", "When the budget runs out at the last hour's burn rate; absent while it is not being spent.", identity, seconds)
            }
            for severity in AlertTransitions.severities {
                let firing = status.alerts.contains { $0.severity == severity && $0.firing }
                gauge("alert_firing", "1 while the multi-window burn-rate alert of this severity fires.", identity + [("severity", severity)], firing ? 1 : 0)
            }
        }
        return registry.emitToBuffer()
    }

    /// `periscope_collector_<name>_total`.
    private static func collectorCounter(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Int, in registry: PrometheusCollectorRegistry) {
        let descriptor = MetricNameDescriptor(namespace: "periscope", subsystem: "collector", metricName: name, unitName: "total", helpText: help)
        registry.makeCounter(descriptor: descriptor, labels: labels).increment(by: Int64(value))
    }

    private static func add(_ alerting: AlertingCounters.Snapshot, to registry: PrometheusCollectorRegistry) {
        func counter(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Int) {
            collectorCounter(name, help, labels, value, in: registry)
        }
        let evaluations = "SLO evaluations this collector ran (with a shared store, the turns it took), by result."
        counter("slo_evaluations", evaluations, [("result", "ok")], alerting.evaluations)
        counter("slo_evaluations", evaluations, [("result", "failed")], alerting.failedEvaluations)
        counter("alert_history_failures", "Evaluations whose alert changes could not be recorded (their alerts were still sent to any Alertmanager).", [], alerting.historyFailures)
        for (url, posts) in alerting.posts.sorted(by: { $0.key < $1.key }) {
            let help = "Posts of SLO alerts to each Alertmanager, by result (failed: down, refused, or no whole answer within 10 s)."
            counter("alertmanager_posts", help, [("alertmanager", url), ("result", "sent")], posts.sent)
            counter("alertmanager_posts", help, [("alertmanager", url), ("result", "failed")], posts.failed)
        }
    }

    private static func add(_ ingest: IngestCounters.Snapshot, to registry: PrometheusCollectorRegistry) {
        func counter(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Int) {
            collectorCounter(name, help, labels, value, in: registry)
        }
        // Every signal has its series from the start, so `rate()` and `increase()` see the first ones.
        for signal in Signal.allCases {
            let labels = [("signal", signal.rawValue)]
            counter("stored_items", "Spans, log records and metric points stored.", labels, ingest.storedItems[signal] ?? 0)
            counter("rejected_items", "Items refused one by one (too old, too far ahead); the rest of their request was stored.", labels, ingest.rejectedItems[signal] ?? 0)
            counter("duplicate_batches", "Batches stored before, acknowledged without being stored again.", labels, ingest.duplicateBatches[signal] ?? 0)
            // The usual refusals from the start too: a first burst between two scrapes shows in `increase()`.
            let refused = (ingest.refusedRequests[signal] ?? [:]).merging(IngestCounters.refusalStatuses.map { ($0, 0) }) { counted, _ in counted }
            for (status, count) in refused.sorted(by: { $0.key < $1.key }) {
                counter("refused_requests", "Requests refused whole, by HTTP status (gRPC refusals by the status they map from).", labels + [("code", String(status))], count)
            }
        }
    }

    /// `slo`, then `service` and `operation` when the SLO names them, then its file's labels by name.
    static func seriesLabels(of status: QueryAPI.SLOStatus) -> [(String, String)] {
        var labels = [("slo", status.name)]
        if let service = status.service { labels.append(("service", service)) }
        if let operation = status.operation { labels.append(("operation", operation)) }
        for (name, value) in (status.labels ?? [:]).sorted(by: { $0.key < $1.key }) { labels.append((name, value)) }
        return labels
    }
}
