import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import PeriscopeCollector
import PeriscopeConfig
import PeriscopeModel
import PeriscopeQueryAPI
import PeriscopeServer
import PeriscopeTesting
import Testing

/// The SLO file's labels, `/metrics` and the alerts sent to Alertmanager, without the servers
/// (the end-to-end `PrometheusAlertmanagerTests` start the real ones).
@Suite("SLO labels, Prometheus exposition and Alertmanager alerts")
struct SLOAlertingTests {
    static func status(
        _ name: String = "checkout", labels: [String: String]? = nil, burn: Double? = 20, page: Bool = false, ticket: Bool = false
    ) -> QueryAPI.SLOStatus {
        QueryAPI.SLOStatus(
            name: name, service: "checkout", operation: nil, indicator: "availability", objective: 99.9, windowSeconds: 2_592_000,
            total: 1_000, good: 980, sli: 0.98, errorBudget: 0.001, budgetRemaining: -19,
            burnRates: [QueryAPI.BurnRate(window: "5m", seconds: 300, rate: nil), QueryAPI.BurnRate(window: "1h", seconds: 3_600, rate: burn)],
            timeToExhaustionSeconds: nil,
            alerts: [
                QueryAPI.BurnRateAlert(severity: "page", longWindow: "1h", shortWindow: "5m", threshold: 14.4, firing: page),
                QueryAPI.BurnRateAlert(severity: "ticket", longWindow: "1d", shortWindow: "2h", threshold: 3, firing: ticket),
            ],
            labels: labels)
    }

    @Test("labels in the SLO file: sorted, carried to the status; bad names, reserved names, repeats and non-strings refused with their line")
    func fileLabels() throws {
        let slos = try SLOFile.parse("""
            slos:
              - name: a
                service: api
                sli: availability
                objective: 99
                labels: {team: payments, env: prod, _tier: "1"}
            """)
        #expect(slos[0].labels.map(\.name) == ["_tier", "env", "team"])
        #expect(slos[0].labels.map(\.value) == ["1", "prod", "payments"])
        func refusal(_ labels: String) -> SLOFile.Invalid? {
            do {
                _ = try SLOFile.parse("slos:\n  - name: a\n    service: api\n    sli: availability\n    objective: 99\n    labels: \(labels)\n")
                return nil
            } catch {
                return error
            }
        }
        for bad in ["{9lives: x}", "{a-b: x}", "{__name__: x}", "{\"\": x}", "{team: \"\"}", "{team: [a]}", "{team: {a: b}}", "[team]", "x"] {
            let error = try #require(refusal(bad), "\(bad) was taken")
            #expect(error.field == "labels" && error.line == 6, "\(bad): \(error)")
        }
        for reserved in SLOFile.reservedLabels {
            #expect(refusal("{\(reserved): x}")?.message.contains("choose another name") == true, "\(reserved)")
        }
        // Collectors sharing a store take turns by the definitions: routing labels are not part of them.
        var relabelled = slos[0]
        relabelled.labels[0].value = "2"
        #expect(AlertTransitions.key(of: slos) == AlertTransitions.key(of: [relabelled]))
        var stricter = slos[0]
        stricter.objective = 99.9
        #expect(AlertTransitions.key(of: slos) != AlertTransitions.key(of: [stricter]))
    }

    @Test("evaluation interval and Alertmanagers from flags and YAML; nonsense refused")
    func configuration() throws {
        let defaults = try CollectorCommand.parse(["--insecure-no-auth"]).resolve()
        #expect(defaults.sloEvaluationInterval == .seconds(30) && defaults.alertmanagers.isEmpty)
        let set = try CollectorCommand.parse([
            "--insecure-no-auth", "--slo-evaluation-interval", "5s", "--alertmanager", "http://127.0.0.1:9093", "--alertmanager", "https://am.example:9093/",
        ]).resolve()
        #expect(set.sloEvaluationInterval == .seconds(5))
        #expect(set.alertmanagers == ["http://127.0.0.1:9093", "https://am.example:9093/"])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let yaml = directory.appendingPathComponent("collector.yaml")
        try "insecure_no_auth: true\nslo_evaluation_interval: 1m\nalertmanagers: [\"http://a:9093\", \"http://b:9093\"]\n".write(to: yaml, atomically: true, encoding: .utf8)
        let fromFile = try CollectorCommand.parse(["--config", yaml.path]).resolve()
        #expect(fromFile.sloEvaluationInterval == .seconds(60) && fromFile.alertmanagers == ["http://a:9093", "http://b:9093"])
        let overridden = try CollectorCommand.parse(["--config", yaml.path, "--alertmanager", "http://c:9093"]).resolve()
        #expect(overridden.alertmanagers == ["http://c:9093"], "the flag replaces the file's list")
        let twice = try CollectorCommand.parse(["--insecure-no-auth", "--alertmanager", "http://a:9093", "--alertmanager", "http://a:9093"]).resolve()
        #expect(twice.alertmanagers == ["http://a:9093"], "each Alertmanager once")
        for bad in [
            ["--slo-evaluation-interval", "0s"], ["--slo-evaluation-interval", "2h"], ["--slo-evaluation-interval", "soon"],
            ["--alertmanager", "127.0.0.1:9093"], ["--alertmanager", "http://127.0.0.1:99999"], ["--alertmanager", "ftp://x"],
            ["--alertmanager", "http://user:secret@am:9093"], ["--alertmanager", "http://am:9093/?x=1"], ["--alertmanager", "http://am:9093/#top"],
        ] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try CollectorCommand.parse(["--insecure-no-auth"] + bad).resolve() }
        }
    }

    @Test("exposition: every series with the SLO's identity and labels (escaped), windows without traffic left out, alerts as 0/1")
    func exposition() throws {
        let text = String(decoding: CollectorExposition.text([
            Self.status(labels: ["team": "pay\"ments", "note": "a\\b\nc"], burn: .infinity, page: true),
        ]), as: UTF8.self)
        let lines = Set(text.split(separator: "\n").map(String.init))
        let identity = #"slo="checkout",service="checkout",note="a\\b\nc",team="pay\"ments""#
        for expected in [
            "periscope_slo_objective_ratio{\(identity)} 0.999",
            "periscope_slo_error_budget_ratio{\(identity)} 0.001",
            "periscope_slo_window_seconds{\(identity)} 2592000.0",
            "periscope_slo_window_events{\(identity),kind=\"total\"} 1000.0",
            "periscope_slo_window_events{\(identity),kind=\"good\"} 980.0",
            "periscope_slo_sli_ratio{\(identity)} 0.98",
            "periscope_slo_error_budget_remaining_ratio{\(identity)} -19.0",
            "periscope_slo_burn_rate{\(identity),window=\"1h\"} inf",
            "periscope_slo_alert_firing{\(identity),severity=\"page\"} 1.0",
            "periscope_slo_alert_firing{\(identity),severity=\"ticket\"} 0.0",
            "# TYPE periscope_slo_burn_rate gauge",
        ] {
            #expect(lines.contains(expected), "missing \(expected) in\n\(text)")
        }
        #expect(!text.contains(#"window="5m""#), "a window without traffic has no series")
        #expect(!text.contains("time_to_exhaustion"), "no exhaustion while nothing is known")
        let alerting = AlertingCounters(alertmanagers: ["http://a:9093", "http://b:9093"])
        alerting.evaluated(failed: false)
        alerting.evaluated(failed: false)
        alerting.evaluated(failed: true)
        alerting.historyFailed()
        alerting.posted(to: "http://a:9093", taken: true)
        alerting.posted(to: "http://a:9093", taken: false)
        let counted = Set(String(decoding: CollectorExposition.text([], alerting: alerting.snapshot), as: UTF8.self).split(separator: "\n").map(String.init))
        for expected in [
            #"periscope_collector_slo_evaluations_total{result="ok"} 2"#, #"periscope_collector_slo_evaluations_total{result="failed"} 1"#,
            "periscope_collector_alert_history_failures_total 1",
            #"periscope_collector_alertmanager_posts_total{alertmanager="http://a:9093",result="sent"} 1"#,
            #"periscope_collector_alertmanager_posts_total{alertmanager="http://a:9093",result="failed"} 1"#,
            #"periscope_collector_alertmanager_posts_total{alertmanager="http://b:9093",result="sent"} 0"#,
        ] {
            #expect(counted.contains(expected), "missing \(expected) in \(counted.sorted())")
        }
        let empty = String(decoding: CollectorExposition.text([]), as: UTF8.self)
        #expect(!empty.contains("periscope_slo_"), "no SLOs, no SLO series")
        #expect(empty.contains(#"periscope_collector_stored_items_total{signal="logs"} 0"#), "ingest series exist from the start")
    }

    @Test("ingest counters: stored, rejected, duplicates and refusals per signal, as Prometheus counters")
    func ingestCounters() {
        let counters = IngestCounters()
        counters.accepted(.traces, stored: 20, rejected: 2, duplicate: false)
        counters.accepted(.traces, stored: 5, rejected: 0, duplicate: false)
        counters.accepted(.logs, stored: 0, rejected: 0, duplicate: true)
        counters.refused(.metrics, status: 400)
        counters.refused(.metrics, status: 400)
        counters.refused(.metrics, status: 503)
        counters.accepted(.logs, stored: -1, rejected: -1, duplicate: false)
        counters.accepted(.logs, stored: 0, rejected: 7, duplicate: true)
        counters.accepted(.metrics, stored: .max, rejected: 0, duplicate: false)
        counters.accepted(.metrics, stored: .max, rejected: 0, duplicate: false)
        let lines = Set(String(decoding: CollectorExposition.text([], ingest: counters.snapshot), as: UTF8.self).split(separator: "\n").map(String.init))
        for expected in [
            #"periscope_collector_stored_items_total{signal="traces"} 25"#, #"periscope_collector_rejected_items_total{signal="traces"} 2"#,
            #"periscope_collector_stored_items_total{signal="logs"} 0"#,
            #"periscope_collector_refused_requests_total{signal="metrics",code="400"} 2"#,
            #"periscope_collector_refused_requests_total{signal="metrics",code="503"} 1"#,
            #"periscope_collector_refused_requests_total{signal="logs",code="503"} 0"#, #"periscope_collector_duplicate_batches_total{signal="logs"} 2"#,
            #"periscope_collector_rejected_items_total{signal="logs"} 0"#, "periscope_collector_stored_items_total{signal=\"metrics\"} \(Int.max)",
            "# TYPE periscope_collector_stored_items_total counter",
        ] {
            #expect(lines.contains(expected), "missing \(expected) in \(lines.sorted())")
        }
    }

    @Test("Alertmanager alerts: firing ones renewed each evaluation, a stopped one sent resolved for 15 minutes, then dropped")
    func alertmanagerAlerts() throws {
        var alerts = AlertmanagerAlerts(evaluationInterval: .seconds(30))
        let second: UInt64 = 1_000_000_000
        let start: UInt64 = 1_780_000_000 * second
        #expect(alerts.alerts(for: [Self.status()], nowUnixNano: start).isEmpty, "nothing fires, nothing to say")

        let firing = alerts.alerts(for: [Self.status(labels: ["team": "payments"], page: true, ticket: true)], nowUnixNano: start)
        #expect(firing.map { $0.labels["severity"] } == ["page", "ticket"])
        let page = firing[0]
        #expect(page.labels == ["alertname": "ErrorBudgetBurn", "slo": "checkout", "service": "checkout", "team": "payments", "severity": "page"])
        #expect(page.endsAt == AlertmanagerAlerts.rfc3339(start + 240 * second), "valid for four minutes at a 30 s interval")
        #expect(page.startsAt == AlertmanagerAlerts.rfc3339(start))
        #expect(page.annotations["description"]?.contains("1h at 20.0 and 5m at no traffic, above 14.4") == true, "\(page.annotations)")

        // The page stops: sent resolved (its end is now) beside the ticket, which is renewed.
        let next = start + 30 * second
        let afterStop = alerts.alerts(for: [Self.status(labels: ["team": "payments"], ticket: true)], nowUnixNano: next)
        #expect(afterStop.map { $0.labels["severity"] } == ["ticket", "page"])
        #expect(afterStop[0].endsAt == AlertmanagerAlerts.rfc3339(next + 240 * second))
        #expect(afterStop[1].endsAt == AlertmanagerAlerts.rfc3339(next) && afterStop[1].labels == page.labels)
        #expect(afterStop[0].startsAt == AlertmanagerAlerts.rfc3339(start) && afterStop[1].startsAt == AlertmanagerAlerts.rfc3339(start), "renewals keep the first start")

        // Resent resolved with the same end until 15 minutes have passed, then no more.
        let within = alerts.alerts(for: [Self.status(labels: ["team": "payments"], ticket: true)], nowUnixNano: next + 14 * 60 * second)
        #expect(within.count == 2 && within[1].endsAt == AlertmanagerAlerts.rfc3339(next))
        let past = alerts.alerts(for: [Self.status(labels: ["team": "payments"])], nowUnixNano: next + 15 * 60 * second)
        #expect(past.map { $0.labels["severity"] } == ["ticket"] && past[0].endsAt == AlertmanagerAlerts.rfc3339(next + 15 * 60 * second))

        // A page that fires again is no longer resolved.
        let again = alerts.alerts(for: [Self.status(labels: ["team": "payments"], page: true)], nowUnixNano: next + 16 * 60 * second)
        #expect(again.map { $0.labels["severity"] } == ["page", "ticket"])
        #expect(again[0].endsAt > again[1].endsAt)
        #expect(again[0].startsAt == AlertmanagerAlerts.rfc3339(next + 16 * 60 * second), "a page firing again starts again")

        // A clock that steps back keeps resolved alerts rather than trapping.
        var stepped = AlertmanagerAlerts(evaluationInterval: .seconds(1))
        _ = stepped.alerts(for: [Self.status(page: true)], nowUnixNano: start)
        _ = stepped.alerts(for: [Self.status()], nowUnixNano: start)
        #expect(stepped.alerts(for: [Self.status()], nowUnixNano: start - 60 * second).count == 1)
        #expect(AlertmanagerAlerts(evaluationInterval: .seconds(3_600)).validityNanos == 4 * 3_600 * second)
        #expect(stepped.alerts(for: [Self.status(page: true)], nowUnixNano: .max).first?.endsAt == AlertmanagerAlerts.rfc3339(.max))
    }
}

/// A loopback server that answers every request with `200` headers promising a 1,000-byte body
/// and then sends it one byte every 300 ms: an Alertmanager (or proxy) that stalls mid-answer
/// while never going quiet long enough for a read timeout.
final class StallingServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private var connections: [Int32] = []
    private var stopped = false
    private let lock = NSLock()

    /// Connections accepted so far.
    var accepted: Int { lock.withLock { connections.count } }

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        guard bound == 0, listen(listener, 8) == 0 else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                lock.withLock { connections.append(connection) }
                Thread { [self] in trickle(connection) }.start()
            }
        }.start()
    }

    private func trickle(_ connection: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        _ = read(connection, &buffer, buffer.count)
        let head = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n".utf8)
        guard head.withUnsafeBytes({ write(connection, $0.baseAddress, $0.count) }) == head.count else { return }
        for _ in 0..<1_000 {
            Thread.sleep(forTimeInterval: 0.3)
            guard !lock.withLock({ stopped }) else { return }
            var space = UInt8(ascii: " ")
            guard write(connection, &space, 1) == 1 else { return }
        }
    }

    func stop() {
        lock.withLock { stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        lock.withLock { for connection in connections { shutdown(connection, Int32(SHUT_RDWR)) } }
    }
}

@Suite("Alertmanager delivery")
struct AlertmanagerDeliveryTests {
    @Test("an Alertmanager that sends its headers and then drips its body is given up on at the timeout, not waited for")
    func stalledAnswer() async throws {
        let server = try StallingServer()
        defer { server.stop() }
        let clock = ManualClock()
        let notifier = AlertmanagerNotifier(
            endpoints: ["http://127.0.0.1:\(server.port)"], timeout: .seconds(1), timeline: Timeline(clock), logger: .init(label: "test"))
        let alert = AlertmanagerAlert(labels: ["alertname": "ErrorBudgetBurn"], annotations: [:], startsAt: "2026-01-01T00:00:00Z", endsAt: "2026-01-01T00:04:00Z")
        let sending = Task { await notifier.send([alert]) }
        // The post is under way (the server has it) and its timeout is asleep: now the timeout passes.
        // Waited for in real time up to 90 s: at the unit phase's start the other suites' synchronous
        // work holds the cooperative threads for up to about 40 s (CI), and the post waits for one.
        let ready = try await poll(for: .seconds(90)) { (server.accepted, clock.sleeperCount) } until: { $0.0 >= 1 && $0.1 >= 1 }
        try #require(ready.0 >= 1 && ready.1 >= 1, "accepted \(ready.0), sleeping \(ready.1)")
        clock.advance(by: .seconds(1))
        // Bounded in real time only so that a notifier that waits for the body fails here
        // instead of hanging the run (the body would take 300 s to arrive).
        let taken = await withTaskGroup(of: Bool?.self) { group in
            group.addTask { await sending.value }
            group.addTask {
                try? await Task.sleep(for: .seconds(60))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            sending.cancel()
            return first
        }
        #expect(taken == false, "a stalled answer is no delivery (nil: still waiting 30 s after the timeout passed)")
    }
}

@Suite("Jaeger documents")
struct JaegerDocumentsTests {
    @Test("a 64-bit trace ID is written with 16 hex digits; a cut trace carries a warning; tags are typed, non-finite numbers as text")
    func documents() throws {
        let short = try #require(TraceID(hex: "00000000000000000123456789abcdef"))
        #expect(JaegerDocuments.hex(short) == "0123456789abcdef")
        #expect(JaegerRoutes.traceID("123456789abcdef") == short, "leading zeros may be left out")
        let long = try #require(TraceID(hex: "4bf92f3577b34da6a3ce929d0e0e4736"))
        #expect(JaegerDocuments.hex(long) == "4bf92f3577b34da6a3ce929d0e0e4736")
        let span = QueryAPI.Span(
            traceID: short, spanID: SpanID(7), parentSpanID: nil, service: "api", name: "GET /", kind: "server",
            startTimeUnixNano: 2_000_000, endTimeUnixNano: 5_500_000, status: QueryAPI.Status(code: "error", message: "boom"),
            attributes: ["ratio": .double(.infinity), "count": .int(3)], resource: ["service.name": .string("api")], events: [], links: [])
        let document = JaegerDocuments.trace(QueryAPI.Trace(traceID: short, spans: [span], totalSpans: 40))
        #expect(document.traceID == "0123456789abcdef" && document.spans[0].traceID == "0123456789abcdef")
        #expect(document.warnings == ["showing the first 1 of 40 spans by start time"])
        #expect(document.spans[0].startTime == 2_000 && document.spans[0].duration == 3_500)
        let tags = document.spans[0].tags.map { "\($0.key)=\($0.type)" }
        #expect(tags == ["count=int64", "ratio=string", "span.kind=string", "error=bool", "otel.status_code=string", "otel.status_description=string"])
        #expect(JaegerDocuments.trace(QueryAPI.Trace(traceID: short, spans: [span])).warnings == nil)
    }
}

@Suite("Jaeger query strings and exposition under noise")
struct JaegerQueryFuzzTests {
    @Test("the seeds, damaged seeds and noise are taken or refused, never trapped on; the exposition keeps one series per line")
    func queries() throws {
        let seeds = FuzzCorpus.seeds("JaegerQueryFuzz")
        #expect(seeds.count >= 6, "seeds found under Fuzz/Corpus/JaegerQueryFuzz")
        var generator = SeededGenerator(seed: 49)
        var taken = 0
        for round in 0..<2_000 {
            let input = round < seeds.count ? seeds[round]
                : round % 4 == 0 ? (0..<Int(generator.next() % 96)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                : FuzzCorpus.damage(seeds[round % seeds.count], using: &generator)
            input.withUnsafeBytes { JaegerQueryFuzzing.check($0) }
            if (try? JaegerRoutes.search(QueryParameters(query: String(decoding: input, as: UTF8.self)), nowUnixNano: 1_780_000_000_000_000_000)) != nil {
                taken += 1
            }
        }
        #expect(taken >= 3, "the valid seeds at least are taken: \(taken)")
        // The checks see what they are for: a search seed taken as written, the bad numbers refused,
        // and a name with a newline, quotes and a backslash read back whole from the exposition.
        let search = try #require(FuzzCorpus.seeds("JaegerQueryFuzz").first { String(decoding: $0, as: UTF8.self).hasPrefix("service=checkout") })
        let query = try JaegerRoutes.search(QueryParameters(query: String(decoding: search, as: UTF8.self)), nowUnixNano: 1)
        #expect(query.service == "checkout" && query.status == .error && query.minSpanDurationNanos == 10_000_000 && query.limit == 20)
        #expect(throws: QueryParameters.Invalid.self) {
            try JaegerRoutes.search(QueryParameters(query: "start=99999999999999999999"), nowUnixNano: 1)
        }
        let name = "prod\n\"eu\"\\"
        let status = SLOAlertingTests.status(name)
        let line = try #require(String(decoding: CollectorExposition.text([status]), as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("periscope_slo_sli_ratio") })
        #expect(JaegerQueryFuzzing.labelValue("slo", in: line) == name, "\(line)")
    }
}
