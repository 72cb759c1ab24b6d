import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PeriscopeModel
import PeriscopeOTLP
@testable import PeriscopeSDK
import PeriscopeTesting
import Synchronization
import Testing

@Suite("Exporter: an agent away for a while")
struct ExporterOutageTests {
    /// An agent that answers 503 while `down`, and otherwise stores what it is sent, by ID.
    final class FlakyAgent: Sendable {
        let down = Atomic(true)
        let refused = Atomic(0)
        let spanIDs = Mutex<[SpanID]>([])
        let logBodies = Mutex<[String]>([])

        func router() -> Router<BasicRequestContext> {
            let router = Router()
            for signal in [Signal.traces, .logs] {
                router.post(RouterPath(signal == .traces ? "/v1/traces" : "/v1/logs")) { request, _ -> HTTPResponse.Status in
                    let body = try await request.body.collect(upTo: 64 << 20)
                    guard !self.down.load(ordering: .relaxed) else {
                        self.refused.add(1, ordering: .relaxed)
                        return .serviceUnavailable
                    }
                    let decoded = try OTLPDecoder().decode(signal, Array(buffer: body), format: .protobuf)
                    switch decoded.batch {
                    case .traces(let groups):
                        self.spanIDs.withLock { $0 += groups.flatMap { $0.scopes.flatMap { $0.spans.map(\.spanID) } } }
                    case .logs(let groups):
                        self.logBodies.withLock { $0 += groups.flatMap { $0.scopes.flatMap { $0.records.map(\.body.text) } } }
                    case .metrics: break
                    }
                    return .ok
                }
            }
            return router
        }
    }

    @Test("the agent away (503) for many export intervals: batches stay queued and are tried again after a backoff; once it is back, every span and record arrives once", .timeLimit(.minutes(2)))
    func agentRestartLosesNothing() async throws {
        let agent = FlakyAgent()
        let clock = ManualClock()
        try await Application(router: agent.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            let configuration = OTLPExporter.Configuration(
                endpoint: "http://127.0.0.1:\(try #require(client.port))", spanQueueCapacity: 2_048, logQueueCapacity: 2_048, maxBatchSize: 64,
                exportInterval: .milliseconds(50), requestTimeout: .seconds(30),
                retry: RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(200)))
            let exporter = OTLPExporter(resource: ProcessResource.make(serviceName: "outage"), configuration: configuration, timeline: Timeline(clock))
            let loop = Task { await exporter.run(shutdownTimeout: .seconds(5)) }
            var sentSpans: [SpanID] = []
            // While the agent is away: 10 rounds of 30 spans and 30 records, the loop trying meanwhile.
            for round in 0..<10 {
                for index in 0..<30 {
                    let span = PeriscopeModel.Span(traceID: .random(), spanID: .random(), name: "s", startTimeUnixNano: 1, endTimeUnixNano: 2)
                    sentSpans.append(span.spanID)
                    exporter.submit(span)
                    exporter.submit(LogRecord(timeUnixNano: WallClock.nowUnixNano(), severityNumber: .info, body: .string("r\(round)-\(index)")))
                }
                let target = exporter.deferredExports + 1
                _ = await clock.drive(step: .milliseconds(10)) {
                    while exporter.deferredExports < target { try? await Task.sleep(for: .milliseconds(1)) }
                }
            }
            #expect(agent.refused.load(ordering: .relaxed) >= 10)
            #expect(exporter.failedExports == 0 && exporter.droppedSpans == 0 && exporter.droppedLogs == 0, "nothing given up while the queues have room")
            #expect(agent.spanIDs.withLock { $0.isEmpty })
            agent.down.store(false, ordering: .relaxed)
            _ = await clock.drive(step: .milliseconds(10)) {
                while exporter.exportedSpans < 300 || exporter.exportedLogs < 300 { try? await Task.sleep(for: .milliseconds(1)) }
            }
            loop.cancel()
            _ = await clock.drive(step: .milliseconds(10)) { await loop.value }
            let received = agent.spanIDs.withLock { $0 }
            #expect(received.count == 300 && Set(received) == Set(sentSpans), "every span once")
            let bodies = agent.logBodies.withLock { $0 }
            #expect(bodies.count == 300 && Set(bodies).count == 300, "every record once")
            #expect(exporter.failedExports == 0 && exporter.queuedItems == 0)
        }
    }
}
