import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PeriscopeModel
@testable import PeriscopeSDK
import Synchronization
import Testing

@Suite("Exporter flush")
struct ExporterFlushTests {
    /// A batch the background loop sent before a flush began is part of the flush: the flush
    /// waits for its answer. It used to return at once, and a service that cancelled the loop
    /// after flushing (as one does on its way out) cancelled that export: the agent had the
    /// batch, the exporter counted it failed.
    @Test("a flush waits for the answer to an export the background loop started", .timeLimit(.minutes(1)))
    func flushWaitsForTheLoopsExport() async throws {
        let received = Mutex(0)
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let router = Router()
        router.post("/v1/traces") { _, _ -> HTTPResponse.Status in
            received.withLock { $0 += 1 }
            for await _ in gate { break }
            return .ok
        }
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            let port = try #require(client.port)
            let exporter = OTLPExporter(
                resource: ProcessResource.make(serviceName: "flush-test"),
                configuration: OTLPExporter.Configuration(endpoint: "http://127.0.0.1:\(port)", exportInterval: .milliseconds(20)))
            let loop = Task { await exporter.run() }
            exporter.submit(PeriscopeModel.Span(traceID: .random(), spanID: .random(), name: "s", startTimeUnixNano: 1, endTimeUnixNano: 2))
            // The loop's export is out and held by the server.
            while received.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(exporter.queuedItems == 0)

            let flushed = Atomic(false)
            let flush = Task {
                await exporter.forceFlush(timeout: .seconds(30))
                flushed.store(true, ordering: .relaxed)
            }
            try await Task.sleep(for: .milliseconds(300))
            let returnedBeforeTheAnswer = flushed.load(ordering: .relaxed)
            open.yield()
            await flush.value
            loop.cancel()
            await loop.value
            #expect(!returnedBeforeTheAnswer, "the flush returned while the loop's export was still out")
            #expect(exporter.exportedSpans == 1)
            #expect(exporter.failedExports == 0)
            #expect(received.withLock { $0 } == 1)
        }
    }

    @Test("waiting for no exports out ends when the last one ends, or at cancellation")
    func exportsInFlight() async {
        let tracker = ExportsInFlight()
        await tracker.waitUntilIdle()
        tracker.begin()
        tracker.begin()
        let waiter = Task { await tracker.waitUntilIdle() }
        tracker.end()
        tracker.end()
        await waiter.value

        tracker.begin()
        let cancelled = Task { await tracker.waitUntilIdle() }
        cancelled.cancel()
        await cancelled.value
        tracker.end()
    }
}
