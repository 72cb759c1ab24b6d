import Foundation
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeQueryAPI
import PeriscopeTesting
import Testing

/// Collectors that share one PostgreSQL store (`--store postgres://…`), behind one agent.
/// Run on its own by `make test` (after the other suites): it loads both cores, which would
/// skew the timing of the fault tests beside it.
@Suite("Collectors on a shared PostgreSQL store", .serialized)
struct SharedPostgresStoreTests {
    @Test("two collectors on one PostgreSQL store, kill -9 one of them 4 times under steady traffic: every acknowledged record is stored exactly once")
    func sharedPostgresKilledUnderLoad() async throws {
        let directory = try TemporaryDirectory()
        let store = try await PostgresServer.shared().createDatabase()
        let a = try await CollectorProcess.start(in: directory, dataDirectory: directory.file("data-a"), extraArguments: ["--store", store])
        defer { Task { await a.process.stop() } }
        let b = try await CollectorProcess.start(
            in: directory, port: FreePort.pick(), dataDirectory: directory.file("data-b"), extraArguments: ["--store", store])
        let agent = try await AgentProcess.start(in: directory, collector: a, extraArguments: ["--collector", "\(a.url),\(b.url)"])
        defer { Task { await agent.process.stop() } }
        let load = LogLoad(recordsPerRequest: 20)
        load.target(agent.url)
        let loadTask = Task { await load.run(duration: .seconds(30), maxRequests: 4_000, pause: .milliseconds(2)) }
        let restarted = try await b.killedRepeatedly(times: 4, in: directory, extraArguments: ["--store", store])
        defer { Task { await restarted.process.stop() } }
        try await Task.sleep(for: .seconds(1))
        loadTask.cancel()
        load.target(nil)
        await loadTask.value
        // One database: either collector answers for everything.
        try await StoreAudit.waitForDrain(restarted, atLeast: load.acknowledged.count * load.recordsPerRequest, timeout: .seconds(90))
        let report = try await StoreAudit.audit(load, collectors: [a])
        print("two collectors on one PostgreSQL store, one killed ×4 under load: \(report); statuses \(load.statuses)")
        #expect(report.acknowledged > 200)
        #expect(report.missing == 0 && report.partial == 0 && report.duplicated == 0, "exactly once: \(report)")
        #expect(report.storedRecords == (report.acknowledged + report.unacknowledgedStored) * load.recordsPerRequest, "\(report)")
        #expect(try await StoreAudit.logRecordCount(restarted) == report.storedRecords, "both collectors read the same store")
    }

    static let sloFile = """
        slos:
          - name: checkout-availability
            service: checkout
            sli: availability
            objective: 99
          - name: payments
            service: payments
            sli: ratio
            good: payments.ok
            total: payments.all
            objective: 99.5
        """

    /// A trace of three server spans of `checkout` (every fifth trace's last span failed).
    static func trace(_ id: TraceID, _ n: Int, now: UInt64) -> [UInt8] {
        let spans = (0..<3).map { i in
            var span = Span(traceID: id, spanID: SpanID(UInt64(i + 1)), parentSpanID: i == 0 ? nil : SpanID(1), name: i == 0 ? "POST /checkout" : "step \(i)",
                            kind: .server, startTimeUnixNano: now + UInt64(i) * 1_000, endTimeUnixNano: now + UInt64(i) * 1_000 + UInt64(1 + n % 7) * 1_000_000)
            if i == 2 && n % 5 == 0 { span.status = Span.Status(code: .error, message: "declined") }
            return span
        }
        return OTLPEncoder.encode(.traces([ResourceSpans(resource: Resource(serviceName: "checkout"), scopes: [ScopeSpans(spans: spans)])]))
    }

    /// One point of each cumulative counter of the `payments` ratio SLO.
    static func counters(good: Double, total: Double, now: UInt64) -> [UInt8] {
        OTLPEncoder.encode(.metrics([ResourceMetrics(resource: Resource(serviceName: "payments"), scopes: [ScopeMetrics(metrics: [
            Metric(name: "payments.ok", data: .sum([NumberPoint(startTimeUnixNano: now - 600_000_000_000, timeUnixNano: now, value: .double(good))], temporality: .cumulative, isMonotonic: true)),
            Metric(name: "payments.all", data: .sum([NumberPoint(startTimeUnixNano: now - 600_000_000_000, timeUnixNano: now, value: .double(total))], temporality: .cumulative, isMonotonic: true)),
        ])])]))
    }

    @Test("spans and cumulative counters through two collectors on one PostgreSQL store, one killed -9 4 times: every span and point stored once, SLOs equal to a SQLite collector's on the same input")
    func spansAndMetricsExactlyOnce() async throws {
        let directory = try TemporaryDirectory()
        let slos = directory.file("slos.yaml")
        try Self.sloFile.write(to: slos, atomically: true, encoding: .utf8)
        let store = try await PostgresServer.shared().createDatabase()
        let shared = ["--store", store, "--slo", slos.path]
        let a = try await CollectorProcess.start(in: directory, dataDirectory: directory.file("data-a"), extraArguments: shared)
        defer { Task { await a.process.stop() } }
        let b = try await CollectorProcess.start(in: directory, port: FreePort.pick(), dataDirectory: directory.file("data-b"), extraArguments: shared)
        let reference = try await CollectorProcess.start(in: directory, dataDirectory: directory.file("data-sqlite"), extraArguments: ["--slo", slos.path])
        defer { Task { await reference.process.stop() } }
        let agent = try await AgentProcess.start(in: directory, collector: a, extraArguments: ["--collector", "\(a.url),\(b.url)"])
        defer { Task { await agent.process.stop() } }

        let protobuf = ["Content-Type": "application/x-protobuf"]
        let direct = protobuf.merging(["Authorization": "Bearer \(reference.token)"]) { $1 }
        /// Sends one request through the agent and, once acknowledged, the same bytes straight to the SQLite collector.
        func send(_ path: String, _ body: [UInt8]) async throws -> Bool {
            let reply = try await TestHTTP.post(agent.url + path, body: body, headers: protobuf)
            guard reply.status == 200 else { return false }
            let copy = try await TestHTTP.post(reference.url + path, body: body, headers: direct)
            try #require(copy.status == 200, "the SQLite collector refused \(path): \(copy.status)")
            return true
        }
        // The counters' first points are stored before any kill, so both stores start from the same baseline.
        let first = 1_000.0
        try #require(try await send("/v1/metrics", Self.counters(good: first, total: first, now: WallClock.nowUnixNano())))
        try await StoreAudit.waitForDrain(a, atLeast: 2, of: "metric_points", timeout: .seconds(30))

        let sender = Task { () throws -> (traces: [TraceID], metricRequests: Int, refused: Int, total: Double) in
            var traces = [TraceID](), metricRequests = 1, refused = 0
            var good = first, total = first
            let deadline = ContinuousClock.now + .seconds(20)
            var n = 0
            while ContinuousClock.now < deadline && n < 3_000 && !Task.isCancelled {
                n += 1
                if n % 3 == 0 {
                    good += Double(9 + n % 2)
                    total += 10
                    if try await send("/v1/metrics", Self.counters(good: good, total: total, now: WallClock.nowUnixNano())) { metricRequests += 1 } else { refused += 1 }
                } else {
                    let id = TraceID.random()
                    if try await send("/v1/traces", Self.trace(id, n, now: WallClock.nowUnixNano())) { traces.append(id) } else { refused += 1 }
                }
                try await Task.sleep(for: .milliseconds(3))
            }
            return (traces, metricRequests, refused, total)
        }
        let restarted = try await b.killedRepeatedly(times: 4, in: directory, extraArguments: shared)
        defer { Task { await restarted.process.stop() } }
        let sent = try await sender.value
        print("spans and metrics through a shared PostgreSQL store: \(sent.traces.count) traces, \(sent.metricRequests) counter requests, \(sent.refused) refused by the agent")
        #expect(sent.refused == 0, "the agent acknowledged every request")
        #expect(sent.traces.count > 300)

        try await StoreAudit.waitForDrain(a, atLeast: sent.traces.count * 3, of: "spans", timeout: .seconds(90))
        #expect(try await StoreAudit.storedCount(a, "spans") == sent.traces.count * 3, "every span once")
        #expect(try await StoreAudit.storedCount(restarted, "traces") == sent.traces.count)
        // (The agent's own metrics are stored too: count the counters' points by name.)
        for name in ["payments.ok", "payments.all"] {
            let reply = try await TestHTTP.get(
                a.url + "/api/v1/metrics?name=\(name)&service=payments&limit=10000", headers: ["Authorization": "Bearer \(a.token)"])
            try #require(reply.status == 200)
            let points = try QueryAPI.decoder().decode(QueryAPI.MetricPoints.self, from: Data(reply.body)).points
            #expect(points.count == sent.metricRequests, "every point of \(name) once")
            #expect(Set(points.compactMap(\.value)).count == sent.metricRequests, "\(name): no value twice")
        }
        var broken = [String]()
        for id in sent.traces {
            let spans = try await CollectorFailoverTests.spans(id, in: restarted)
            if spans != 3 { broken.append("\(id.hex): \(spans)") }
        }
        #expect(broken.isEmpty, "every trace whole, no span twice: \(broken.prefix(10))")

        // The same input, the same SLOs: good and total are counts, so they are equal exactly.
        func sloList(_ collector: CollectorProcess) async throws -> QueryAPI.SLOList {
            let result = try await QueryCLI.run(["slo", "--json"], collector: collector)
            try #require(result.exitCode == 0, "periscope slo: \(result.standardError)")
            return try QueryAPI.decoder().decode(QueryAPI.SLOList.self, from: Data(result.standardOutput.utf8))
        }
        let onPostgres = try await sloList(a)
        let onSQLite = try await sloList(reference)
        try #require(onPostgres.slos.count == 2 && onSQLite.slos.count == 2)
        for (shared, alone) in zip(onPostgres.slos, onSQLite.slos) {
            #expect(shared.name == alone.name)
            #expect(shared.total == alone.total && shared.good == alone.good, "\(shared.name): PostgreSQL \(shared.good)/\(shared.total), SQLite \(alone.good)/\(alone.total)")
            #expect(shared.total > 0)
        }
        #expect(onSQLite.slos.first { $0.name == "payments" }?.total == sent.total - first, "the counters' increases since the first point")

        // The rollups too: requests, errors and latency per operation, from the same spans.
        func signals(_ collector: CollectorProcess) async throws -> [String: QueryAPI.SignalRow] {
            let result = try await QueryCLI.run(["signals", "--service", "checkout", "--by", "operation", "--since", "1h", "--json"], collector: collector)
            try #require(result.exitCode == 0, "periscope signals: \(result.standardError)")
            let rows = try QueryAPI.decoder().decode(QueryAPI.Signals.self, from: Data(result.standardOutput.utf8)).rows
            return Dictionary(rows.map { ($0.operation ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        }
        let sharedSignals = try await signals(a), aloneSignals = try await signals(reference)
        #expect(Set(sharedSignals.keys) == ["POST /checkout", "step 1", "step 2"])
        for (operation, alone) in aloneSignals {
            let shared = sharedSignals[operation]
            #expect(shared?.requests == alone.requests && shared?.errors == alone.errors, "\(operation): PostgreSQL \(String(describing: shared)), SQLite \(alone)")
            #expect(shared?.latency?.p50 == alone.latency?.p50 && shared?.latency?.p99 == alone.latency?.p99, "\(operation) latency")
        }
        #expect(aloneSignals["POST /checkout"]?.requests == sent.traces.count)
    }
}
