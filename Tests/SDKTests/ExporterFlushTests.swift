import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PeriscopeModel
@testable import PeriscopeSDK
import Synchronization
import Testing

@Suite("Exporter flush")
struct ExporterFlushTests {
    /// An agent that holds each trace request until the test releases it, in arrival order.
    final class HeldAnswers: Sendable {
        let received = Mutex(0)
        let released = Mutex(0)

        func router() -> Router<BasicRequestContext> {
            let router = Router()
            router.post("/v1/traces") { _, _ -> HTTPResponse.Status in
                let number = self.received.withLock { count -> Int in
                    count += 1
                    return count
                }
                while self.released.withLock({ $0 }) < number { try await Task.sleep(for: .milliseconds(2)) }
                return .ok
            }
            return router
        }

        func waitUntilReceived(_ count: Int) async throws {
            while received.withLock({ $0 }) < count { try await Task.sleep(for: .milliseconds(5)) }
        }

        func release(upTo count: Int) { released.withLock { $0 = count } }
    }

    static func span() -> PeriscopeModel.Span {
        PeriscopeModel.Span(traceID: .random(), spanID: .random(), name: "s", startTimeUnixNano: 1, endTimeUnixNano: 2)
    }

    /// A batch the background loop sent before a flush began is part of the flush: the flush
    /// waits for its answer. It used to return at once, and a service that cancelled the loop
    /// after flushing (as one does on its way out) cancelled that export: the agent had the
    /// batch, the exporter counted it failed.
    @Test("a flush waits for the answer to an export the background loop started", .timeLimit(.minutes(1)))
    func flushWaitsForTheLoopsExport() async throws {
        let agent = HeldAnswers()
        try await Application(router: agent.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            let port = try #require(client.port)
            let exporter = OTLPExporter(
                resource: ProcessResource.make(serviceName: "flush-test"),
                configuration: OTLPExporter.Configuration(endpoint: "http://127.0.0.1:\(port)", exportInterval: .milliseconds(20)))
            let loop = Task { await exporter.run() }
            defer {
                agent.release(upTo: .max)
                loop.cancel()
            }
            exporter.submit(Self.span())
            try await agent.waitUntilReceived(1)
            #expect(exporter.queuedItems == 0)

            let flushed = Atomic(false)
            let flush = Task {
                await exporter.forceFlush(timeout: .seconds(30))
                flushed.store(true, ordering: .relaxed)
            }
            try await Task.sleep(for: .milliseconds(300))
            let returnedBeforeTheAnswer = flushed.load(ordering: .relaxed)
            agent.release(upTo: 1)
            await flush.value
            loop.cancel()
            await loop.value
            #expect(!returnedBeforeTheAnswer, "the flush returned while the loop's export was still out")
            #expect(exporter.exportedSpans == 1)
            #expect(exporter.failedExports == 0)
        }
    }

    /// With one export at a time, the loop holds a second batch it has taken from the queue
    /// while the first is out: the queue looks empty, and the first answer must not end the flush.
    @Test("a flush waits for a batch the loop has taken but not sent yet", .timeLimit(.minutes(1)))
    func flushWaitsForATakenBatch() async throws {
        let agent = HeldAnswers()
        try await Application(router: agent.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            let port = try #require(client.port)
            let exporter = OTLPExporter(
                resource: ProcessResource.make(serviceName: "flush-test"),
                configuration: OTLPExporter.Configuration(
                    endpoint: "http://127.0.0.1:\(port)", maxBatchSize: 1, exportInterval: .seconds(3600), maxConcurrentExports: 1))
            // Both batches are queued before the loop wakes, so one take holds them both.
            exporter.submit(Self.span())
            exporter.submit(Self.span())
            let loop = Task { await exporter.run() }
            defer {
                agent.release(upTo: .max)
                loop.cancel()
            }
            exporter.requestFlush()
            try await agent.waitUntilReceived(1)
            #expect(exporter.queuedItems == 0, "the loop took both batches")

            let flushed = Atomic(false)
            let flush = Task {
                await exporter.forceFlush(timeout: .seconds(30))
                flushed.store(true, ordering: .relaxed)
            }
            try await Task.sleep(for: .milliseconds(200))
            let returnedEarly = flushed.load(ordering: .relaxed)
            agent.release(upTo: 1)
            try await agent.waitUntilReceived(2)
            try await Task.sleep(for: .milliseconds(200))
            let returnedAfterTheFirstAnswer = flushed.load(ordering: .relaxed)
            agent.release(upTo: 2)
            await flush.value
            loop.cancel()
            await loop.value
            #expect(!returnedEarly && !returnedAfterTheFirstAnswer, "the flush returned while the loop still held a batch")
            #expect(exporter.exportedSpans == 2)
            #expect(exporter.failedExports == 0)
        }
    }

    @Test("a flush waits for exports begun before it, not after it; a batch's shared ticket; cancellation", .timeLimit(.minutes(1)))
    func exportsInFlight() async throws {
        let tracker = ExportsInFlight()
        await tracker.waitForEarlierExports()

        let take = tracker.begin()
        let batch = tracker.another(take)
        tracker.end(take)
        let finished = Atomic(false)
        let waiter = Task {
            await tracker.waitForEarlierExports()
            finished.store(true, ordering: .relaxed)
        }
        while tracker.waiterCount == 0 { try await Task.sleep(for: .milliseconds(1)) }
        // Begun after the waiter: not waited for.
        let later = tracker.begin()
        let finishedEarly = finished.load(ordering: .relaxed)
        #expect(!finishedEarly, "the batch under the take's ticket is still out")
        tracker.end(batch)
        await waiter.value
        let finishedAtLast = finished.load(ordering: .relaxed)
        #expect(finishedAtLast)
        #expect(tracker.waiterCount == 0)

        let cancelled = Task { await tracker.waitForEarlierExports() }
        while tracker.waiterCount == 0 { try await Task.sleep(for: .milliseconds(1)) }
        cancelled.cancel()
        await cancelled.value
        #expect(tracker.waiterCount == 0)
        tracker.end(later)
    }
}
