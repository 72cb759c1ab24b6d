import Foundation
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeTesting
import Testing

/// The regression guard for group commit: an exporter that waits for each answer must not
/// wait on a batch timer. One-span requests go one at a time, alternately to the agent (answer
/// = in its durable queue, `fsync: always`) and straight to the collector (answer = committed
/// to SQLite); the agent's median must stay within 3× the collector's. A ratio, not a time, so
/// a slow machine slows both sides alike. (Before group commit it was ~100×: every request
/// waited out `batch.max_delay`.)
@Suite("Answer latency: agent against collector")
struct AnswerLatencyTests {
    static let requests = 40

    @Test("sequential single-span requests: agent median ≤ 3× the collector's, every span stored once")
    func sequentialRequests() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory)
        let agent = try await AgentProcess.start(in: directory, collector: collector)
        var agentMs: [Double] = []
        var collectorMs: [Double] = []
        let now = WallClock.nowUnixNano()
        for number in 0..<(2 * Self.requests) {
            let toAgent = number % 2 == 0
            let span = Span(
                traceID: TraceID(high: 0xA11CE, low: UInt64(number + 1)), spanID: SpanID(UInt64(number + 1)),
                name: "GET /latency", kind: .server, startTimeUnixNano: now, endTimeUnixNano: now + 1_000_000)
            let body = OTLPEncoder.encode(.traces([ResourceSpans(
                resource: Resource(serviceName: toAgent ? "via-agent" : "direct"), scopes: [ScopeSpans(spans: [span])])]), format: .json)
            let started = ContinuousClock.now
            let reply = try await TestHTTP.post(
                (toAgent ? agent.url : collector.url) + "/v1/traces", body: body,
                headers: ["Content-Type": "application/json", "Authorization": "Bearer \(collector.token)"])
            let elapsed = ContinuousClock.now - started
            try #require(reply.status == 200, "\(toAgent ? "agent" : "collector") answered \(reply.status): \(reply.text)")
            let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            if toAgent { agentMs.append(milliseconds) } else { collectorMs.append(milliseconds) }
        }
        let agentMedian = agentMs.sorted()[agentMs.count / 2]
        let collectorMedian = collectorMs.sorted()[collectorMs.count / 2]
        print("sequential one-span requests: agent median \(agentMedian) ms, collector median \(collectorMedian) ms")
        #expect(agentMedian <= 3 * collectorMedian, "agent \(agentMedian) ms against collector \(collectorMedian) ms")

        // Everything the agent acknowledged reaches the store, once.
        try await StoreAudit.waitForDrain(collector, atLeast: 2 * Self.requests, of: "spans")
        #expect(try await StoreAudit.storedCount(collector, "spans") == 2 * Self.requests)
        await agent.process.stop()
        await collector.process.stop()
    }
}
