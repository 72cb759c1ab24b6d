import Foundation
@testable import PeriscopeCollector
import PeriscopeModel
import PeriscopeOTLP
import Testing

@Suite("Operation limit")
struct OperationLimitTests {
    @Test("names past the limit fold into one row whose counts add up, however the batches and flushes interleave", arguments: [1, 3, 20])
    func foldedCountsAddUp(flushEvery: Int) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oplimit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(directory: directory, maxOperationsPerService: 50)
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

@Suite("Error type limit")
struct ErrorTypeLimitTests {
    @Test("distinct error types past the limit fold into one, counts add up, through merges and stored bytes")
    func foldsErrorTypes() throws {
        var aggregate = RequestAggregate()
        for number in 0..<1000 { aggregate.add(latencyBucket: 10, errorType: "Error\(number)") }
        #expect(aggregate.errorTypes.count == RequestAggregate.maxErrorTypes + 1)
        #expect(aggregate.errorTypes.values.reduce(0, +) == 1000)
        #expect(aggregate.errorTypes[RequestAggregate.otherErrorTypes] == 1000 - RequestAggregate.maxErrorTypes)

        var other = RequestAggregate()
        for number in 500..<600 { other.add(latencyBucket: 10, errorType: "Other\(number)") }
        aggregate.merge(other)
        #expect(aggregate.errorTypes.count == RequestAggregate.maxErrorTypes + 1)
        #expect(aggregate.errorTypes.values.reduce(0, +) == 1100)

        var bytes = [UInt8]()
        other.append(to: &bytes)
        var read = RequestAggregate()
        try RollupByteReader.reading(bytes) { (raw) throws(DamagedRollupData) in
            var reader = RollupByteReader(raw)
            try read.merge(from: &reader)
        }
        #expect(read.errorTypes.count == RequestAggregate.maxErrorTypes + 1)
        #expect(read.errors == 100 && read.errorTypes.values.reduce(0, +) == 100)
    }

    @Test("the cap keeps the same names when an aggregate is stored and read back, whatever the names sort like")
    func stableAcrossReadBack() throws {
        var aggregate = RequestAggregate()
        // Lower-case names sort after "periscope.other_error_types": the fold's key must not take their slot.
        for number in 0..<40 { aggregate.add(latencyBucket: 10, errorType: "zeta.error\(number)") }
        aggregate.add(latencyBucket: 10, errorType: "status_error")
        var bytes = [UInt8]()
        aggregate.append(to: &bytes)
        var read = RequestAggregate()
        try RollupByteReader.reading(bytes) { (raw) throws(DamagedRollupData) in
            var reader = RollupByteReader(raw)
            try read.merge(from: &reader)
        }
        #expect(read.errorTypes == aggregate.errorTypes)
    }

    @Test("a stored count past 2^53 is damage, refused before any sum could overflow")
    func absurdCounts() {
        var bytes = [UInt8]()
        Varint.append(UInt64(Int.max), to: &bytes)
        Varint.append(UInt64(0), to: &bytes)
        LatencySketch().append(to: &bytes)
        LatencySketch().append(to: &bytes)
        RequestAggregate.append(errorTypes: [:], to: &bytes)
        #expect(throws: DamagedRollupData.self) {
            try RollupByteReader.reading(bytes) { (raw) throws(DamagedRollupData) in
                var reader = RollupByteReader(raw)
                var aggregate = RequestAggregate()
                try aggregate.merge(from: &reader)
            }
        }
        // The flush's path: that entry in a stored bucket, merged with a fresh one-request delta.
        var stored = RequestBucket.Writer()
        stored.section(1)
        stored.entry(0) { $0 += bytes }
        let storedBytes = stored.finish()
        storedBytes.withUnsafeBytes { StoredBytesFuzzing.checkRollupBucket($0) }
    }

    @Test("a long exception type is cut on a character boundary")
    func longTypes() {
        let long = String(repeating: "é", count: 1000)
        let cut = RequestClassification.bounded(long)
        #expect(cut.utf8.count <= RequestClassification.maxErrorTypeBytes && cut.utf8.count >= RequestClassification.maxErrorTypeBytes - 1)
        #expect(long.hasPrefix(cut))
        #expect(RequestClassification.bounded("TimeoutError") == "TimeoutError")
        // One character longer than the limit still leaves a name, cut by scalars.
        let combining = "e" + String(repeating: "\u{301}", count: 200)
        #expect(!RequestClassification.bounded(combining).isEmpty)
        #expect(RequestClassification.bounded(combining).utf8.count <= RequestClassification.maxErrorTypeBytes)
    }
}
