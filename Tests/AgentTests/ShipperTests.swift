import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
@testable import PeriscopeAgent
import PeriscopeDelivery
import PeriscopeDiskQueue
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeTesting
import ServiceLifecycle
import Synchronization
import Testing

/// A collector that answers each batch as a script says and records what it was sent.
final class FakeCollector: Sendable {
    struct Answer: Sendable {
        var status: HTTPResponse.Status
        var retryAfter: String? = nil
        /// The answer's body and its content type; by default a line of text.
        var body: (bytes: [UInt8], contentType: String)? = nil
    }

    private struct State {
        var script: [Answer]
        var fallback: Answer
        var batchIDs: [String] = []
        var authorizations: [String?] = []
        var bodies: [[UInt8]] = []
    }

    private let state: Mutex<State>

    init(answers: [Answer], then fallback: Answer = Answer(status: .ok)) {
        state = Mutex(State(script: answers, fallback: fallback))
    }

    var batchIDs: [String] { state.withLock { $0.batchIDs } }
    var requests: Int { state.withLock { $0.batchIDs.count } }
    var authorizations: [String?] { state.withLock { $0.authorizations } }
    /// Each request's body as it arrived (still zstd-encoded).
    var bodies: [[UInt8]] { state.withLock { $0.bodies } }

    func application() -> some ApplicationProtocol {
        let router = Router()
        router.post("/v1/logs") { request, _ -> Response in
            let body = Array(try await request.body.collect(upTo: 8 << 20).readableBytesView)
            let answer = self.state.withLock { state -> Answer in
                state.bodies.append(body)
                state.batchIDs.append(request.headers[HTTPField.Name(EncodedBatch.idHeader)!] ?? "")
                state.authorizations.append(request.headers[.authorization])
                return state.script.isEmpty ? state.fallback : state.script.removeFirst()
            }
            var response = Response(status: answer.status, body: .init(byteBuffer: .init(string: "scripted \(answer.status.code)")))
            if let body = answer.body {
                response = Response(status: answer.status, headers: [.contentType: body.contentType], body: .init(byteBuffer: .init(bytes: body.bytes)))
            }
            if let retryAfter = answer.retryAfter { response.headers[.retryAfter] = retryAfter }
            return response
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }
}

/// The shipper against a fake collector on a loopback port, with time on a manual clock: what
/// is acknowledged (deleted from the queue), what is kept, and when it tries again.
@Suite("Shipper", .serialized)
struct ShipperTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shipper-\(UUID().uuidString)").path
    let logger = Logger(label: "shipper-test")

    func batch(_ id: String) -> EncodedBatch {
        EncodedBatch(id: id, signal: .logs, itemCount: 1, body: [1, 2, 3])
    }

    /// Runs a shipper for `queue` against `collector` until `body` returns.
    func withShipper(
        _ collector: FakeCollector, queue: DiskQueue, clock: ManualClock, drainDeadline: Duration = .seconds(5),
        _ body: @escaping @Sendable (Shipper, ServiceGroup) async throws -> Void
    ) async throws {
        try await withShipper([collector], queue: queue, clock: clock, drainDeadline: drainDeadline, body)
    }

    /// Runs a shipper for `queue` against every one of `collectors` (in that order) until `body` returns.
    func withShipper(
        _ collectors: [FakeCollector], ports: [Int] = [], queue: DiskQueue, clock: ManualClock, drainDeadline: Duration = .seconds(5),
        concurrency: Int = 1, retryPolicy: RetryPolicy = .untilDelivered, breaker: CircuitBreaker = CircuitBreaker(),
        _ body: @escaping @Sendable (Shipper, ServiceGroup) async throws -> Void
    ) async throws {
        guard ports.count == collectors.count else {
            // Start the next collector, then go on with its port known.
            try await collectors[ports.count].application().test(.live) { client in
                let port = try #require(client.port)
                try await withShipper(
                    collectors, ports: ports + [port], queue: queue, clock: clock, drainDeadline: drainDeadline, concurrency: concurrency,
                    retryPolicy: retryPolicy, breaker: breaker, body)
            }
            return
        }
        let http = OTLPUploader.makeHTTPClient()
        let shipper = Shipper(
            queue: queue, clients: ports.map { OTLPUploader(endpoint: "http://127.0.0.1:\($0)", token: "t0ken", httpClient: http) },
            deadLetters: DeadLetterBox(directory: directory + "/dead-letters"), concurrency: concurrency, retryPolicy: retryPolicy,
            breaker: breaker, drainDeadline: drainDeadline, timeline: Timeline(clock), logger: logger)
        let group = ServiceGroup(configuration: .init(services: [shipper], logger: logger))
        async let running: Void = group.run()
        do {
            try await body(shipper, group)
        } catch {
            await group.triggerGracefulShutdown()
            try? await running
            try? await http.shutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        clock.advance(by: .seconds(3600))
        try await running
        try await http.shutdown()
    }

    /// Polls (real time, bounded) until `condition` holds.
    func eventually(_ condition: @Sendable () -> Bool) async -> Bool {
        for _ in 0..<2_000 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return condition()
    }

    @Test("a 400 moves the batch to the dead-letter box and acknowledges it; the bearer token and batch ID are sent")
    func refusedBatchBecomesADeadLetter() async throws {
        let queue = try DiskQueue(directory: directory + "/queue", logger: logger)
        try queue.append(batch("refused-1"))
        let collector = FakeCollector(answers: [.init(status: .badRequest)])
        try await withShipper(collector, queue: queue, clock: ManualClock()) { shipper, _ in
            #expect(await eventually { queue.statistics.records == 0 })
            #expect(shipper.statistics.deadLettered == 1)
            #expect(shipper.statistics.shipped == 0)
        }
        #expect(collector.batchIDs == ["refused-1"])
        #expect(collector.authorizations == ["Bearer t0ken"])
        let letters = DeadLetterBox(directory: directory + "/dead-letters").list()
        #expect(letters.count == 1)
    }

    @Test("a 401 keeps the batch queued and waits 5 s before trying again; then it is delivered once")
    func refusedTokenStaysQueued() async throws {
        let queue = try DiskQueue(directory: directory + "/queue", logger: logger)
        try queue.append(batch("auth-1"))
        let clock = ManualClock()
        let collector = FakeCollector(answers: [.init(status: .unauthorized)])
        try await withShipper(collector, queue: queue, clock: clock) { shipper, _ in
            #expect(await eventually { collector.requests == 1 && clock.sleeperCount == 1 })
            #expect(queue.statistics.records == 1, "not acknowledged: an operator can fix the token")
            clock.advance(by: .milliseconds(4_900))
            try await Task.sleep(for: .milliseconds(50))
            #expect(collector.requests == 1, "no retry before the 5 s wait is over")
            clock.advance(by: .milliseconds(100))
            #expect(await eventually { queue.statistics.records == 0 })
            #expect(shipper.statistics.shipped == 1)
            #expect(shipper.statistics.deadLettered == 0)
        }
        #expect(collector.batchIDs == ["auth-1", "auth-1"], "the same batch ID, so the collector stores it once")
    }

    @Test("the uploader sends every body byte for byte while reusing one buffer, kept only once answered")
    func uploaderReusesBodyBuffers() async throws {
        let collector = FakeCollector(answers: [])
        try await collector.application().test(.live) { client in
            let port = try #require(client.port)
            let http = OTLPUploader.makeHTTPClient()
            let uploader = OTLPUploader(endpoint: "http://127.0.0.1:\(port)", token: nil, httpClient: http)
            let bodies: [[UInt8]] = [
                [UInt8](repeating: 1, count: 300_000), [2, 3], (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }, [],
            ]
            for (index, body) in bodies.enumerated() {
                try await uploader.send(EncodedBatch(id: "reuse-\(index)", signal: .logs, itemCount: 1, body: body))
                #expect(uploader.bodies.keptCount == 1, "the answered request's buffer is kept for the next")
            }
            #expect(collector.bodies == bodies)
            // Nothing listens on port 1: the connection is refused and the buffer is not kept.
            let refused = OTLPUploader(endpoint: "http://127.0.0.1:1", token: nil, httpClient: http)
            do {
                try await refused.send(EncodedBatch(id: "refused", signal: .logs, itemCount: 1, body: [4]))
                Issue.record("a send to a closed port succeeded")
            } catch {
                // Said as what it is (not NIO's "connection reset (error set): … (errno: 111)").
                #expect(String(describing: error).contains("Connection refused (errno 111)"), "\(error)")
                #expect(!String(describing: error).contains("reset"), "\(error)")
            }
            #expect(refused.bodies.keptCount == 0)
            try await http.shutdown()
        }
    }

    @Test("an accepted batch whose items the collector partly rejected (OTLP partial success, protobuf or JSON) says how many and why, escaped; a full success says nothing")
    func partialSuccessIsReported() async throws {
        let hostile = "outside retention \u{1B}[2J"
        let collector = FakeCollector(answers: [
            .init(status: .ok, body: (OTLPEncoder.response(.logs, rejected: 3, message: hostile, format: .protobuf), "application/x-protobuf")),
            .init(status: .ok, body: (OTLPEncoder.response(.logs, rejected: 2, message: "ahead", format: .json), "application/json")),
            .init(status: .ok, body: (OTLPEncoder.response(.logs, format: .protobuf), "application/x-protobuf")),
            .init(status: .ok, body: (Array("{}".utf8), "application/json")),
        ])
        try await collector.application().test(.live) { client in
            let port = try #require(client.port)
            let http = OTLPUploader.makeHTTPClient()
            let uploader = OTLPUploader(endpoint: "http://127.0.0.1:\(port)", token: nil, httpClient: http)
            let batch = EncodedBatch(id: "partial", signal: .logs, itemCount: 5, body: [1])
            #expect(try await uploader.send(batch) == OTLPDecoder.PartialSuccess(rejected: 3, message: #"outside retention \u{1B}[2J"#))
            #expect(try await uploader.send(batch) == OTLPDecoder.PartialSuccess(rejected: 2, message: "ahead"))
            #expect(try await uploader.send(batch) == nil)
            #expect(try await uploader.send(batch) == nil)
            #expect(try await uploader.send(batch) == nil, "a body that is no OTLP answer (text) is no partial success")
            try await http.shutdown()
        }
    }

    @Test("a 503 with Retry-After is retried no sooner than the collector asked")
    func retryAfterIsHonoured() async throws {
        let queue = try DiskQueue(directory: directory + "/queue", logger: logger)
        try queue.append(batch("busy-1"))
        let clock = ManualClock()
        let collector = FakeCollector(answers: [.init(status: .serviceUnavailable, retryAfter: "7")])
        try await withShipper(collector, queue: queue, clock: clock) { shipper, _ in
            #expect(await eventually { collector.requests == 1 && clock.sleeperCount == 1 })
            clock.advance(by: .milliseconds(6_990))
            try await Task.sleep(for: .milliseconds(50))
            #expect(collector.requests == 1)
            #expect(queue.statistics.records == 1)
            clock.advance(by: .milliseconds(10))
            #expect(await eventually { queue.statistics.records == 0 })
            #expect(shipper.statistics.retries == 1)
        }
    }

    @Test("a collector that was skipped answers again: a batch waiting out a long backoff is sent at once, not when its wait ends")
    func recoveryEndsTheBackoff() async throws {
        let queue = try DiskQueue(directory: directory + "/queue", logger: logger)
        try queue.append(batch("backoff-a"))
        let clock = ManualClock()
        let collector = FakeCollector(answers: [.init(status: .serviceUnavailable)])
        // One failure opens the breaker for 1 s; a failed batch waits up to ten minutes.
        let policy = RetryPolicy(maxAttempts: nil, initialBackoff: .seconds(600), maxBackoff: .seconds(600))
        try await withShipper(
            [collector], queue: queue, clock: clock, concurrency: 2, retryPolicy: policy,
            breaker: CircuitBreaker(failureThreshold: 1, openDuration: .seconds(1), maxOpenDuration: .seconds(1))
        ) { _, _ in
            // One batch failed and backs off; the next one waits for the breaker's probe.
            #expect(await eventually { collector.requests == 1 && clock.sleeperCount == 1 })
            try queue.append(batch("backoff-b"))
            #expect(await eventually { clock.sleeperCount == 2 })
            clock.advance(by: .seconds(1))
            #expect(await eventually { collector.requests == 3 && queue.statistics.records == 0 }, "both delivered after 1 s, not 600")
        }
        #expect(Set(collector.batchIDs) == ["backoff-a", "backoff-b"])
    }

    @Test("on shutdown it retries a failing collector at once and stops at the drain deadline, leaving the batch queued")
    func drainStopsAtTheDeadline() async throws {
        let queue = try DiskQueue(directory: directory + "/queue", logger: logger)
        try queue.append(batch("drain-1"))
        let clock = ManualClock()
        let collector = FakeCollector(answers: [], then: .init(status: .serviceUnavailable, retryAfter: "60"))
        try await withShipper(collector, queue: queue, clock: clock, drainDeadline: .seconds(2)) { _, group in
            #expect(await eventually { collector.requests == 1 && clock.sleeperCount == 1 })
            await group.triggerGracefulShutdown()
            // The 60 s wait ends when shutdown begins; the next wait would pass the deadline, so the worker stops.
            #expect(await eventually { collector.requests == 2 })
        }
        #expect(queue.statistics.records == 1, "not delivered, not acknowledged: it stays for the next start")
        #expect(collector.requests == 2, "one retry while draining; the next wait would pass the deadline")
    }

    @Test("with two collectors, batches spread over both; one that fails is skipped at once (no wait), its share goes to the other, each batch delivered once")
    func failoverWithoutWaiting() async throws {
        let queue = try DiskQueue(directory: directory + "/queue", logger: logger)
        let healthy = FakeCollector(answers: [])
        let failing = FakeCollector(answers: [], then: .init(status: .serviceUnavailable))
        let ids = (0..<40).map { "spread-\($0)" }
        for id in ids { try queue.append(batch(id)) }
        let clock = ManualClock()
        try await withShipper([failing, healthy], queue: queue, clock: clock) { shipper, _ in
            // The manual clock never moves: any backoff would stall delivery here.
            #expect(await eventually { queue.statistics.records == 0 })
            #expect(shipper.statistics.shipped == 40)
            #expect(shipper.statistics.healthyCollectors == (failing.requests >= 5 ? 1 : 2), "a collector is counted out once its breaker opens")
        }
        #expect(healthy.batchIDs.sorted() == ids.sorted(), "every batch once, at the healthy collector")
        // Batches that preferred the failing collector were tried there first, until its breaker opened.
        #expect(failing.requests >= 1 && failing.requests <= 5, "the breaker opened after 5 failures: \(failing.requests)")

        // Both healthy: the batches spread over both, each delivered once.
        let spread = try DiskQueue(directory: directory + "/queue-2", logger: logger)
        for id in ids { try spread.append(batch(id)) }
        let first = FakeCollector(answers: [])
        let second = FakeCollector(answers: [])
        try await withShipper([first, second], queue: spread, clock: ManualClock()) { _, _ in
            #expect(await eventually { spread.statistics.records == 0 })
        }
        #expect((first.batchIDs + second.batchIDs).sorted() == ids.sorted())
        #expect(first.requests >= 10 && second.requests >= 10, "spread by batch ID: \(first.requests) and \(second.requests)")

        // A collector that refuses for good (400): the next one is asked before anything becomes a dead letter.
        let third = try DiskQueue(directory: directory + "/queue-3", logger: logger)
        for id in ids { try third.append(batch(id)) }
        let refusing = FakeCollector(answers: [], then: .init(status: .badRequest))
        let taking = FakeCollector(answers: [])
        try await withShipper([refusing, taking], queue: third, clock: ManualClock()) { shipper, _ in
            #expect(await eventually { third.statistics.records == 0 })
            #expect(shipper.statistics.deadLettered == 0)
        }
        #expect(taking.batchIDs.sorted() == ids.sorted())
    }
}
