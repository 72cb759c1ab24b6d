import Foundation
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeQueryAPI
import PeriscopeTesting
import Testing

/// One agent, two real collectors (`--collector A,B`): every trace's spans meet in one
/// collector, whichever requests they came in; logs spread over both; when one is killed
/// (`kill -9`) its share moves to the other at once and comes back after its restart — and
/// every span and log record the agent acknowledged is stored exactly once across the two.
@Suite("Agent with several collectors", .serialized)
struct CollectorFailoverTests {
    static func status(_ collector: CollectorProcess) async throws -> [String: Int] {
        let reply = try await TestHTTP.get(collector.url + "/api/v1/status", headers: ["Authorization": "Bearer \(collector.token)"])
        try #require(reply.status == 200)
        return try JSONDecoder().decode([String: Int].self, from: Data(reply.body))
    }

    /// The spans of `traceID` stored in `collector` (0 when it has none).
    static func spans(_ traceID: TraceID, in collector: CollectorProcess) async throws -> Int {
        let reply = try await TestHTTP.get(collector.url + "/api/v1/traces/\(traceID.hex)", headers: ["Authorization": "Bearer \(collector.token)"])
        if reply.status == 404 { return 0 }
        try #require(reply.status == 200, "trace \(traceID.hex): HTTP \(reply.status)")
        return try JSONDecoder().decode(QueryAPI.Trace.self, from: Data(reply.body)).spans.count
    }

    /// Sends `traces` traces of three spans each, every span of a trace in a different request
    /// (so they arrive in different batches), and `logs` one-record log requests; all must be accepted.
    static func send(traces: Int, logs: Int, to agent: AgentProcess, phase: String) async throws -> [TraceID] {
        let ids = (0..<traces).map { _ in TraceID.random() }
        let now = WallClock.nowUnixNano()
        for round in 0..<3 {
            let spans = ids.enumerated().map { index, id in
                Span(traceID: id, spanID: SpanID(UInt64(index * 3 + round + 1)), name: "\(phase) step \(round)", kind: .server,
                     startTimeUnixNano: now + UInt64(round) * 1_000_000, endTimeUnixNano: now + UInt64(round) * 1_000_000 + 500_000)
            }
            for chunk in stride(from: 0, to: spans.count, by: 20) {
                let body = OTLPEncoder.encode(.traces([ResourceSpans(resource: Resource(serviceName: "failover"), scopes: [
                    ScopeSpans(scope: InstrumentationScope(name: "t"), spans: Array(spans[chunk..<min(spans.count, chunk + 20)])),
                ])]))
                let reply = try await TestHTTP.post(agent.url + "/v1/traces", body: body, headers: ["Content-Type": "application/x-protobuf"])
                try #require(reply.status == 200, "\(phase): HTTP \(reply.status)")
            }
        }
        for index in 0..<logs {
            let body = OTLPEncoder.encode(.logs([ResourceLogs(resource: Resource(serviceName: "failover"), scopes: [
                ScopeLogs(scope: InstrumentationScope(name: "t"), records: [LogRecord(timeUnixNano: now, severityNumber: .info, body: .string("\(phase) \(index)"))]),
            ])]))
            let reply = try await TestHTTP.post(agent.url + "/v1/logs", body: body, headers: ["Content-Type": "application/x-protobuf"])
            try #require(reply.status == 200, "\(phase): HTTP \(reply.status)")
        }
        return ids
    }

    /// Waits (bounded) until the collectors together hold `spans` spans and `logs` records.
    static func waitForTotals(_ collectors: [CollectorProcess], spans: Int, logs: Int) async throws -> (spans: Int, logs: Int) {
        var totals = (spans: 0, logs: 0)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            totals = (0, 0)
            for collector in collectors {
                let status = try await status(collector)
                totals.spans += status["spans"] ?? 0
                totals.logs += status["logs"] ?? 0
            }
            if totals.spans >= spans && totals.logs >= logs { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        return totals
    }

    /// Where each trace is stored: the collector holding all three of its spans, or `nil` when they are scattered.
    static func homes(_ ids: [TraceID], _ collectors: [CollectorProcess]) async throws -> [Int?] {
        var homes: [Int?] = []
        for id in ids {
            var counts: [Int] = []
            for collector in collectors { counts.append(try await spans(id, in: collector)) }
            let whole = counts.enumerated().filter { $0.element == 3 }.map(\.offset)
            homes.append(whole.count == 1 && counts.reduce(0, +) == 3 ? whole[0] : nil)
        }
        return homes
    }

    @Test("traces stay whole on one collector, logs spread; kill -9 one: its share moves and comes back; all stored once")
    func failover() async throws {
        let directory = try TemporaryDirectory()
        let portB = FreePort.pick()
        let a = try await CollectorProcess.start(in: directory, dataDirectory: directory.file("data-a"))
        let b = try await CollectorProcess.start(in: directory, port: portB, dataDirectory: directory.file("data-b"))
        defer { Task { await a.process.stop() } }
        let agent = try await AgentProcess.start(in: directory, collector: a, extraArguments: ["--collector", "\(a.url),\(b.url)"])
        defer { Task { await agent.process.stop() } }

        // Both up: each trace whole on one of them; both get traces and logs.
        let first = try await Self.send(traces: 90, logs: 40, to: agent, phase: "both")
        var totals = try await Self.waitForTotals([a, b], spans: 270, logs: 40)
        #expect(totals.spans == 270 && totals.logs == 40, "\(totals)")
        let firstHomes = try await Self.homes(first, [a, b])
        #expect(!firstHomes.contains(nil), "every trace whole in exactly one collector")
        #expect(firstHomes.filter { $0 == 0 }.count >= 20 && firstHomes.filter { $0 == 1 }.count >= 20, "traces spread over both")
        let logsA = try await Self.status(a)["logs"] ?? 0
        #expect(logsA >= 5 && logsA <= 35, "logs spread over both: \(logsA) of 40 on A")

        // B killed while idle: everything goes to A, traces still whole.
        let logsB = try await Self.status(b)["logs"] ?? 0
        await b.process.kill9()
        let second = try await Self.send(traces: 90, logs: 40, to: agent, phase: "b-down")
        let onA = try await poll(for: .seconds(60)) {
            var total = 0
            for id in second { total += try await Self.spans(id, in: a) }
            return total
        } until: { $0 == 270 }
        #expect(onA == 270, "every span sent while B was down is on A")
        let logsWhileDown = try await Self.waitForTotals([a], spans: 0, logs: logsA + 40).logs
        #expect(logsWhileDown == logsA + 40, "every log record sent while B was down is on A")

        // B back: it takes its share again.
        let restarted = try await CollectorProcess.start(in: directory, port: portB, dataDirectory: b.dataDirectory)
        defer { Task { await restarted.process.stop() } }
        // Its circuit breaker lets a probe through within its cool-down (at most 30 s); a trickle of
        // log requests finds out when B answers again.
        var trickle = 0
        let back = ContinuousClock.now + .seconds(45)
        while try await Self.status(restarted)["logs"] ?? 0 == logsB, ContinuousClock.now < back {
            _ = try await Self.send(traces: 0, logs: 1, to: agent, phase: "probe")
            trickle += 1
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(try await Self.status(restarted)["logs"] ?? 0 > logsB, "B takes log batches again after its restart")
        #expect(agent.process.standardError.contains("collector \(b.url) keeps failing; its share goes to the other collectors"),
                "the agent says which collector it skips")
        let third = try await Self.send(traces: 90, logs: 40, to: agent, phase: "b-back")
        totals = try await Self.waitForTotals([a, restarted], spans: 810, logs: 120 + trickle)
        #expect(totals.spans == 810 && totals.logs == 120 + trickle, "every span and record once across both: \(totals)")
        let thirdHomes = try await Self.homes(third, [a, restarted])
        #expect(!thirdHomes.contains(nil))
        #expect(thirdHomes.filter { $0 == 1 }.count >= 20, "B takes its share again after its restart")
        // What went to A while B was down stays there, whole: nothing moved or was sent again.
        let secondHomes = try await Self.homes(second, [a, restarted])
        #expect(secondHomes.allSatisfy { $0 == 0 })
        try await Task.sleep(for: .seconds(1))
        totals = try await Self.waitForTotals([a, restarted], spans: 810, logs: 120 + trickle)
        #expect(totals.spans == 810 && totals.logs == 120 + trickle, "nothing stored twice later: \(totals)")
    }

    @Test("steady traffic through two collectors, kill -9 one of them 4 times: nothing acknowledged is lost; a double store needs a lost acknowledgement")
    func killedUnderLoad() async throws {
        let directory = try TemporaryDirectory()
        let portB = FreePort.pick()
        let a = try await CollectorProcess.start(in: directory, dataDirectory: directory.file("data-a"))
        defer { Task { await a.process.stop() } }
        let b = try await CollectorProcess.start(in: directory, port: portB, dataDirectory: directory.file("data-b"))
        let agent = try await AgentProcess.start(in: directory, collector: a, extraArguments: ["--collector", "\(a.url),\(b.url)"])
        defer { Task { await agent.process.stop() } }
        let load = LogLoad(recordsPerRequest: 20)
        load.target(agent.url)
        let loadTask = Task { await load.run(duration: .seconds(30), maxRequests: 4_000, pause: .milliseconds(2)) }
        let restarted = try await b.killedRepeatedly(times: 4, in: directory)
        try await Task.sleep(for: .seconds(1))
        loadTask.cancel()
        load.target(nil)
        await loadTask.value
        defer { Task { await restarted.process.stop() } }
        // Drained: the two together hold every acknowledged record and stop growing.
        let expected = load.acknowledged.count * load.recordsPerRequest
        let deadline = ContinuousClock.now + .seconds(60)
        var last = -1
        while ContinuousClock.now < deadline {
            let stored = try await StoreAudit.logRecordCount(a) + StoreAudit.logRecordCount(restarted)
            if stored >= expected && stored == last { break }
            last = stored
            try await Task.sleep(for: .seconds(1))
        }
        let report = try await StoreAudit.audit(load, collectors: [a, restarted])
        print("two collectors, one killed ×4 under load: \(report); statuses \(load.statuses)")
        #expect(report.acknowledged > 200)
        #expect(report.missing == 0 && report.partial == 0, "nothing acknowledged lost: \(report)")
        // Separate stores cannot de-duplicate a batch whose answer was lost in the kill and that
        // then failed over: at most the batches in flight at each kill (4 in flight, 4 kills).
        #expect(report.duplicated <= 16 * 4, "\(report)")
    }
}
