import Foundation
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeQueryAPI
import PeriscopeTesting
import Testing

/// The collector in the Prometheus ecosystem, against the real servers from Debian's packages:
/// Alertmanager gets the SLO alerts (routed by the SLO file's labels) and their resolution, and
/// Prometheus scrapes `/metrics` with the collector's bearer token.
@Suite("collector with a real Prometheus and Alertmanager")
struct PrometheusAlertmanagerTests {
    static let ms: UInt64 = 1_000_000

    static let sloFile = """
        slos:
          - name: checkout-availability
            service: checkout
            sli: availability
            objective: 99
            labels:
              team: payments
              env: "prod \\"eu\\""
        """

    /// Routes `team=payments` to its own receiver, so the test sees the SLO file's labels route.
    static let alertmanagerConfiguration = """
        route:
          receiver: everyone
          group_wait: 1s
          routes:
            - receiver: payments-pager
              matchers: ['team="payments"']
        receivers:
          - name: everyone
          - name: payments-pager
        """

    struct Alert: Decodable {
        struct Receiver: Decodable { var name: String }
        struct Status: Decodable { var state: String }
        var labels: [String: String]
        var annotations: [String: String]
        var startsAt: String
        var endsAt: String
        var receivers: [Receiver]
        var status: Status
    }

    /// `count` `checkout` server requests a minute ago, span IDs from `firstID`, every other one
    /// failed if `failing`. 10 failed of 20 is an error ratio of 0.5: against a 1 % budget, a
    /// burn rate of 50 in every window.
    static func requests(count: Int, firstID: Int, failing: Bool) -> [UInt8] {
        let base = (WallClock.nowUnixNano() - 60_000 * ms) / ms * ms
        let trace = TraceID(hex: "5a1f0000000000000000000000000001")!
        let spans = (firstID..<firstID + count).map { index in
            Span(
                traceID: trace, spanID: SpanID(UInt64(index)), parentSpanID: nil, name: "POST /checkout", kind: .server,
                startTimeUnixNano: base + UInt64(index) * ms, endTimeUnixNano: base + UInt64(index + 5) * ms,
                status: failing && index.isMultiple(of: 2) ? Span.Status(code: .error, message: "card declined") : Span.Status())
        }
        return OTLPEncoder.encode(.traces([ResourceSpans(resource: Resource(serviceName: "checkout"), scopes: [ScopeSpans(spans: spans)])]))
    }

    static func send(_ body: [UInt8], to collector: CollectorProcess) async throws {
        let reply = try await TestHTTP.post(collector.url + "/v1/traces", body: body, headers: [
            "Content-Type": "application/x-protobuf", "Authorization": "Bearer \(collector.token)",
        ])
        try #require(reply.status == 200, "ingest: \(reply.status) \(reply.text)")
    }

    static func alerts(_ alertmanager: PrometheusPeer) async throws -> [Alert] {
        let reply = try await TestHTTP.get(alertmanager.url + "/api/v2/alerts")
        try #require(reply.status == 200, "Alertmanager: \(reply.status) \(reply.text)")
        return try JSONDecoder().decode([Alert].self, from: Data(reply.body))
    }

    /// An instant query's answer (`/api/v1/query`): each series' labels and `[time, "value"]`.
    struct QueryResult: Decodable {
        struct Data: Decodable {
            struct Series: Decodable {
                var metric: [String: String]
                var value: [ValueItem]
            }
            var result: [Series]
        }
        enum ValueItem: Decodable {
            case time(Double)
            case text(String)
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let text = try? container.decode(String.self) { self = .text(text) } else { self = .time(try container.decode(Double.self)) }
            }
            var text: String? { if case .text(let text) = self { text } else { nil } }
        }
        var status: String
        var data: Data

        /// The first series' value.
        var number: Double? { data.result.first?.value.last?.text.flatMap(Double.init) }
    }

    static func query(_ prometheus: PrometheusPeer, _ promQL: String) async throws -> QueryResult {
        var components = URLComponents(string: prometheus.url + "/api/v1/query")!
        components.queryItems = [URLQueryItem(name: "query", value: promQL)]
        // A `+` left as it is would reach Prometheus as a space (`.+` in a matcher).
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        let reply = try await TestHTTP.get(components.url!.absoluteString)
        try #require(reply.status == 200, "Prometheus: \(reply.status) \(reply.text)")
        return try JSONDecoder().decode(QueryResult.self, from: Data(reply.body))
    }

    /// An Alertmanager, and a collector with `sloFile` evaluated every second that sends it the alerts.
    static func alertingCollector(in directory: TemporaryDirectory) async throws -> (CollectorProcess, PrometheusPeer) {
        let slos = directory.file("slos.yaml")
        try sloFile.write(to: slos, atomically: true, encoding: .utf8)
        let alertmanager = try await PrometheusPeer.start(.alertmanager, configuration: alertmanagerConfiguration)
        let collector = try await CollectorProcess.start(in: directory, extraArguments: [
            "--slo", slos.path, "--slo-evaluation-interval", "1s", "--alertmanager", alertmanager.url,
        ])
        return (collector, alertmanager)
    }

    /// A Prometheus scraping `target` every second, with the collector's token when given.
    static func prometheus(scraping target: Int, tokenFile: URL?) async throws -> PrometheusPeer {
        let authorization = tokenFile.map { "\n    authorization:\n      credentials_file: \($0.path)" } ?? ""
        return try await PrometheusPeer.start(.prometheus, configuration: """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: periscope\(authorization)
                static_configs:
                  - targets: ['127.0.0.1:\(target)']
            """)
    }

    @Test("SLO alerts reach Alertmanager with the SLO's labels and are routed by them; a page that stops is resolved there; Prometheus scrapes the burn rates the API reports; an Alertmanager killed -9 and started again gets the firing alerts")
    func alertmanagerAndPrometheus() async throws {
        let directory = try TemporaryDirectory()
        let (collector, alertmanager) = try await Self.alertingCollector(in: directory)
        try await Self.send(Self.requests(count: 20, firstID: 1, failing: true), to: collector)
        // For the ingest counters: a log batch sent twice with one batch ID, and a request that does not decode.
        let log = OTLPEncoder.encode(.logs([ResourceLogs(resource: Resource(serviceName: "checkout"), scopes: [ScopeLogs(records: [
            LogRecord(timeUnixNano: WallClock.nowUnixNano(), severityNumber: .info, body: .string("charged")),
        ])])]))
        for _ in 0..<2 {
            let reply = try await TestHTTP.post(collector.url + "/v1/logs", body: log, headers: [
                "Content-Type": "application/x-protobuf", "Authorization": "Bearer \(collector.token)", "X-Periscope-Batch-ID": "prometheus-test-1",
            ])
            try #require(reply.status == 200, "logs: \(reply.status) \(reply.text)")
        }
        let garbage = try await TestHTTP.post(collector.url + "/v1/traces", body: [0xFF, 0xFF, 0xFF], headers: [
            "Content-Type": "application/x-protobuf", "Authorization": "Bearer \(collector.token)",
        ])
        try #require(garbage.status == 400)

        // Both severities fire (1h and 5m burn at 50 > 14.4; 1d and 2h at 50 > 3).
        let firing = try await poll(every: .milliseconds(250), for: .seconds(30)) { try await Self.alerts(alertmanager) } until: { $0.count == 2 }
        try #require(firing.count == 2, "alerts in Alertmanager: \(firing.map(\.labels)); collector: \(collector.process.standardError)")
        for alert in firing {
            #expect(alert.labels["alertname"] == "ErrorBudgetBurn")
            #expect(alert.labels["slo"] == "checkout-availability" && alert.labels["service"] == "checkout")
            #expect(alert.labels["team"] == "payments" && alert.labels["env"] == "prod \"eu\"")
            #expect(alert.receivers.map(\.name) == ["payments-pager"], "routed by the SLO's team label")
            #expect(alert.status.state == "active")
            let starts = try #require(ISO8601DateFormatter.fractional.date(from: alert.startsAt), "\(alert.startsAt)")
            #expect(starts <= Date() && starts > Date().addingTimeInterval(-120), "started at the evaluation that found it firing: \(alert.startsAt)")
            #expect(alert.annotations["summary"]?.contains("checkout-availability") == true)
            #expect(alert.annotations["description"]?.contains("at 50.0") == true, "\(alert.annotations)")
        }
        #expect(Set(firing.compactMap { $0.labels["severity"] }) == ["page", "ticket"])

        let anonymous = try await TestHTTP.get(collector.url + "/metrics")
        #expect(anonymous.status == 401, "/metrics is behind the collector's token")

        // Prometheus scrapes the collector with its token; the burn rates are the API's.
        let prometheus = try await Self.prometheus(scraping: collector.port, tokenFile: collector.tokenFile)
        let burn = try await poll(every: .milliseconds(250), for: .seconds(30)) {
            try await Self.query(prometheus, #"periscope_slo_burn_rate{slo="checkout-availability",window="1h"}"#)
        } until: { $0.data.result.count == 1 }
        let up = try await Self.query(prometheus, #"up{job="periscope"}"#)
        try #require(burn.data.result.count == 1, "Prometheus has no burn rate; target up: \(up.data.result.map(\.value).map { $0.compactMap(\.text) })")
        let series = burn.data.result[0]
        #expect(series.metric["team"] == "payments" && series.metric["env"] == "prod \"eu\"" && series.metric["service"] == "checkout")
        let api = try await TestHTTP.get(collector.url + "/api/v1/slos", headers: ["Authorization": "Bearer \(collector.token)"])
        let list = try QueryAPI.decoder().decode(QueryAPI.SLOList.self, from: Data(api.body))
        let fromAPI = try #require(list.slos.first?.burnRates.first { $0.window == "1h" }?.rate)
        #expect(series.value.last?.text.flatMap(Double.init) == fromAPI, "Prometheus \(series.value.compactMap(\.text)) against the API's \(fromAPI)")
        #expect(fromAPI == 50)
        for (series, expected) in [
            (#"periscope_collector_stored_items_total{signal="traces"}"#, 20.0), (#"periscope_collector_stored_items_total{signal="logs"}"#, 1),
            (#"periscope_collector_duplicate_batches_total{signal="logs"}"#, 1), (#"periscope_collector_refused_requests_total{signal="traces",code="400"}"#, 1),
            (#"periscope_collector_rejected_items_total{signal="metrics"}"#, 0),
        ] {
            let answer = try await Self.query(prometheus, series)
            #expect(answer.number == expected, "\(series): \(answer.data.result.map { $0.value.compactMap(\.text) })")
        }
        let page = try await Self.query(prometheus, #"periscope_slo_alert_firing{slo="checkout-availability",severity="page"}"#)
        #expect(page.data.result.first?.value.last?.text == "1")
        let budget = try await Self.query(prometheus, #"periscope_slo_error_budget_remaining_ratio{slo="checkout-availability"}"#)
        #expect(budget.data.result.count == 1)
        await prometheus.stop()

        // 180 good requests more: 10 failed of 200 burn at 5, under the page's thresholds (14.4
        // and 6), over the ticket's first (3). Alertmanager hears the page is resolved (it would
        // otherwise keep it four minutes), and the ticket stays.
        try await Self.send(Self.requests(count: 180, firstID: 21, failing: false), to: collector)
        let later = try await poll(every: .milliseconds(250), for: .seconds(60)) { try await Self.alerts(alertmanager) } until: { alerts in
            !alerts.contains { $0.labels["severity"] == "page" }
        }
        #expect(later.map { $0.labels["severity"] } == ["ticket"], "alerts: \(later.map(\.labels))")
        let history = try await TestHTTP.get(collector.url + "/api/v1/slos/checkout-availability", headers: ["Authorization": "Bearer \(collector.token)"])
        let detail = try QueryAPI.decoder().decode(QueryAPI.SLODetail.self, from: Data(history.body))
        #expect(detail.alertEvents.contains { $0.severity == "page" && !$0.firing }, "the collector's own history: \(detail.alertEvents)")
        #expect(detail.status.labels == ["team": "payments", "env": "prod \"eu\""])

        // Alertmanager killed and started again empty on its port: the collector keeps
        // evaluating, and the next evaluations give the new one the ticket that still fires.
        await alertmanager.process.kill9()
        func warnings() -> Int { collector.process.standardError.components(separatedBy: "did not take the SLO alerts").count - 1 }
        _ = try await poll(for: .seconds(20)) { warnings() } until: { $0 >= 1 }
        try await Task.sleep(for: .seconds(3))
        #expect(collector.process.isRunning)
        #expect(warnings() == 1, "one warning a minute, not one per evaluation: \(collector.process.standardError)")
        let restarted = try await PrometheusPeer.start(.alertmanager, configuration: Self.alertmanagerConfiguration, port: alertmanager.port)
        let again = try await poll(every: .milliseconds(250), for: .seconds(30)) { try await Self.alerts(restarted) } until: { !$0.isEmpty }
        #expect(again.map { $0.labels["severity"] } == ["ticket"] && again.first?.labels["team"] == "payments", "alerts: \(again.map(\.labels))")

        // What alerting itself did, for Prometheus to alert on: posts that failed while it was down, and the rest.
        let metrics = try await TestHTTP.get(collector.url + "/metrics", headers: ["Authorization": "Bearer \(collector.token)"])
        func value(_ series: String) -> Double? {
            metrics.text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        let posts = #"periscope_collector_alertmanager_posts_total{alertmanager="\#(alertmanager.url)",result="#
        #expect((value(posts + #""failed"}"#) ?? 0) >= 1, "\(metrics.text)")
        #expect((value(posts + #""sent"}"#) ?? 0) >= 3, "before the kill and after the restart")
        #expect((value(#"periscope_collector_slo_evaluations_total{result="ok"}"#) ?? 0) >= 5)
        #expect(value(#"periscope_collector_slo_evaluations_total{result="failed"}"#) == 0)
        #expect(value("periscope_collector_alert_history_failures_total") == 0)

        await collector.process.stop()
        await restarted.stop()
    }

    @Test("Prometheus scrapes the agent's own metrics from its OTLP port: the queue, the shipper and what it shipped")
    func agentMetrics() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory)
        let agent = try await AgentProcess.start(in: directory, collector: collector, extraArguments: ["--self-telemetry-interval", "off", "--host-metrics-interval", "off"])
        for batch in 0..<5 {
            let reply = try await TestHTTP.post(
                agent.url + "/v1/traces", body: Self.requests(count: 20, firstID: 1 + 20 * batch, failing: false),
                headers: ["Content-Type": "application/x-protobuf"])
            try #require(reply.status == 200, "agent: \(reply.status) \(reply.text)")
        }
        let prometheus = try await Self.prometheus(scraping: agent.port, tokenFile: nil)
        let shipped = try await poll(every: .milliseconds(250), for: .seconds(30)) {
            try await Self.query(prometheus, "periscope_agent_shipper_shipped_items_total")
        } until: { $0.number == 100 }
        #expect(shipped.number == 100, "shipped items: \(shipped.data.result.map { $0.value.compactMap(\.text) }); agent: \(agent.process.standardError)")
        for (series, expected) in [
            ("periscope_agent_queue_records", 0.0), ("periscope_agent_queue_utilization_ratio", 0), ("periscope_agent_queue_dropped_total", 0),
            ("periscope_agent_shipper_collectors_healthy", 1), ("periscope_agent_dead_letters_letters", 0),
        ] {
            let answer = try await Self.query(prometheus, series)
            #expect(answer.number == expected, "\(series): \(answer.data.result.map { $0.value.compactMap(\.text) })")
        }
        let appended = try await Self.query(prometheus, "periscope_agent_queue_appended_total")
        #expect((appended.number ?? 0) >= 1, "the requests were appended in at least one group commit")
        let help = try await TestHTTP.get(agent.url + "/metrics")
        #expect(help.status == 200 && help.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(help.text.contains("# TYPE periscope_agent_queue_oldest_age_seconds gauge"))
        await prometheus.stop()
        await agent.process.stop()
        await collector.process.stop()
    }

    /// `/api/v1/rules`: each rule's health, state and error as Prometheus last evaluated it.
    struct RuleGroups: Decodable {
        struct Data: Decodable {
            struct Group: Decodable { var name: String; var rules: [Rule] }
            var groups: [Group]
        }
        struct Rule: Decodable {
            var name: String
            var health: String
            var state: String?
            var lastError: String?
        }
        var data: Data
        var rules: [Rule] { data.groups.flatMap(\.rules) }
    }

    /// The dashboard's queries as Grafana would send them, its variables filled in: every SLO, a 1m rate window.
    static func dashboardQueries() throws -> [(panel: String, expression: String)] {
        struct Dashboard: Decodable {
            struct Panel: Decodable {
                struct Target: Decodable { var expr: String }
                var title: String
                var targets: [Target]?
            }
            var panels: [Panel]
        }
        let file = BinaryLocation.packageRoot.appendingPathComponent("Examples/grafana/periscope-dashboard.json")
        let dashboard = try JSONDecoder().decode(Dashboard.self, from: Data(contentsOf: file))
        return dashboard.panels.flatMap { panel in
            (panel.targets ?? []).map { (panel.title, $0.expr.replacingOccurrences(of: "$slo", with: ".+").replacingOccurrences(of: "$__rate_interval", with: "1m")) }
        }
    }

    @Test("the shipped Prometheus rules and Grafana dashboard: promtool accepts the rules; Prometheus evaluates every rule against a real collector and agent without error and raises the rejected-items alert; every dashboard query returns series")
    func shippedRulesAndDashboard() async throws {
        let rulesFile = BinaryLocation.packageRoot.appendingPathComponent("Examples/prometheus/periscope-rules.yml")
        let check = try await RunningProcess.run(URL(fileURLWithPath: "/usr/bin/promtool"), ["check", "rules", rulesFile.path])
        #expect(check.exitCode == 0, "promtool: \(check.standardOutput) \(check.standardError)")
        let queries = try Self.dashboardQueries()
        #expect(queries.count >= 15)

        let directory = try TemporaryDirectory()
        let (collector, alertmanager) = try await Self.alertingCollector(in: directory)
        let agent = try await AgentProcess.start(in: directory, collector: collector, extraArguments: ["--self-telemetry-interval", "off", "--host-metrics-interval", "off"])
        let reply = try await TestHTTP.post(agent.url + "/v1/traces", body: Self.requests(count: 20, firstID: 1, failing: true),
                                            headers: ["Content-Type": "application/x-protobuf"])
        try #require(reply.status == 200, "agent: \(reply.status) \(reply.text)")
        let prometheus = try await PrometheusPeer.start(.prometheus, configuration: """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files: ['\(rulesFile.path)']
            scrape_configs:
              - job_name: periscope-collector
                authorization:
                  credentials_file: \(collector.tokenFile.path)
                static_configs:
                  - targets: ['127.0.0.1:\(collector.port)']
              - job_name: periscope-agent
                static_configs:
                  - targets: ['127.0.0.1:\(agent.port)']
            """)
        // One span three days ahead, straight to the collector once Prometheus has read the
        // counter at 0 (`increase()` counts from a first sample): one rejected item.
        let scraped = try await poll(every: .milliseconds(250), for: .seconds(30)) {
            try await Self.query(prometheus, #"periscope_collector_rejected_items_total{job="periscope-collector",signal="traces"}"#)
        } until: { $0.number == 0 }
        try #require(scraped.number == 0)
        let ahead = WallClock.nowUnixNano() + 3 * 86_400_000_000_000
        try await Self.send(OTLPEncoder.encode(.traces([ResourceSpans(resource: Resource(serviceName: "clock-skew"), scopes: [ScopeSpans(spans: [
            Span(traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), name: "later", kind: .server, startTimeUnixNano: ahead, endTimeUnixNano: ahead + 1),
        ])])])), to: collector)

        func rules() async throws -> RuleGroups {
            let reply = try await TestHTTP.get(prometheus.url + "/api/v1/rules")
            try #require(reply.status == 200, "Prometheus: \(reply.status) \(reply.text)")
            return try JSONDecoder().decode(RuleGroups.self, from: Data(reply.body))
        }
        let evaluated = try await poll(every: .milliseconds(250), for: .seconds(60)) { try await rules() } until: { groups in
            groups.rules.count == 11 && groups.rules.allSatisfy { $0.health != "unknown" }
                && groups.rules.contains { $0.name == "PeriscopeCollectorRejectingItems" && $0.state == "firing" }
        }
        #expect(evaluated.rules.count == 11)
        for rule in evaluated.rules {
            #expect(rule.health == "ok", "\(rule.name): \(rule.health) \(rule.lastError ?? "")")
        }
        #expect(evaluated.rules.first { $0.name == "PeriscopeCollectorRejectingItems" }?.state == "firing",
                "\(evaluated.rules.map { "\($0.name) \($0.state ?? "")" })")
        for rule in evaluated.rules where ["PeriscopeCollectorDown", "PeriscopeAgentDown", "PeriscopeAgentDropping", "PeriscopeSLOEvaluationFailing"].contains(rule.name) {
            #expect(rule.state == "inactive", "\(rule.name) is \(rule.state ?? "")")
        }

        for (panel, expression) in queries {
            let answer = try await poll(every: .milliseconds(250), for: .seconds(30)) { try await Self.query(prometheus, expression) } until: { !$0.data.result.isEmpty }
            #expect(answer.status == "success" && !answer.data.result.isEmpty, "panel '\(panel)': \(expression) has no series")
        }
        await prometheus.stop()
        await agent.process.stop()
        await collector.process.stop()
        await alertmanager.stop()
    }
}

extension ISO8601DateFormatter {
    /// Alertmanager's times: RFC 3339 with fractional seconds.
    static var fractional: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
