import Foundation
@testable import PeriscopeCollector
import PeriscopeTelemetry
import Testing

@Suite("Operation limit")
struct OperationLimitTests {
    @Test("names past the limit fold into one row whose counts add up, however the batches and flushes interleave", arguments: [1, 3, 20])
    func foldedCountsAddUp(flushEvery: Int) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oplimit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try TelemetryStore(directory: directory, maxOperationsPerService: 50)
        let start: UInt64 = 1_714_564_800_000_000_000
        let batches = 20
        let perBatch = 500
        for batch in 0..<batches {
            let spans = (0..<perBatch).map { index in
                let id = batch * perBatch + index
                return Span(
                    traceID: TraceID.random(), spanID: SpanID.random(), name: "GET /users/\(id)", kind: .server,
                    startTimeUnixNano: start + UInt64(id), endTimeUnixNano: start + UInt64(id) + 1_000_000)
            }
            _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "users"), scopes: [ScopeSpans(spans: spans)])]), batchID: nil)
            if batch % flushEvery == 0 { try store.flushRollups() }
        }
        let signals = try store.goldenSignals(SignalsQuery(byOperation: true, startUnixNano: start, endUnixNano: start + 3_600_000_000_000))
        let total = batches * perBatch
        #expect(signals.totalRows == 51)
        #expect(signals.rows.first { $0.operation == OperationLimit.overflowName }?.requests == total - 50)
        #expect(signals.rows.reduce(0) { $0 + $1.requests } == total)
        #expect(try store.counts()["folded_operation_spans"] == total - 50)
    }
}
