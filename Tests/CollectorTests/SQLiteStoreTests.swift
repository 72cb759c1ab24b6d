import Foundation
@testable import PeriscopeCollector
import PeriscopeModel
import PeriscopeQueryAPI
import Testing

@Suite("Telemetry store")
struct SQLiteStoreTests {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)").path
    }

    static let traceID = TraceID(hex: "4bf92f3577b34da6a3ce929d0e0e4736")!

    static func traceIDs(of batch: TelemetryBatch) -> [TraceID] {
        guard case .traces(let groups) = batch else { return [] }
        return groups.flatMap { $0.scopes.flatMap { $0.spans.map(\.traceID) } }
    }

    static func spans(service: String, _ spans: [Span]) -> TelemetryBatch {
        .traces([ResourceSpans(resource: Resource(serviceName: service, hostName: "h1"), scopes: [ScopeSpans(spans: spans)])])
    }

    static let root = Span(
        traceID: traceID, spanID: SpanID(1), name: "POST /checkout", kind: .server,
        startTimeUnixNano: 1_000, endTimeUnixNano: 9_000,
        attributes: [Attribute("http.route", .string("/checkout")), Attribute("retries", .int(2))],
        events: [Span.Event(timeUnixNano: 2_000, name: "cache miss")])
    static let child = Span(
        traceID: traceID, spanID: SpanID(2), parentSpanID: SpanID(1), name: "GET /inventory", kind: .client,
        startTimeUnixNano: 3_000, endTimeUnixNano: 5_000, status: Span.Status(code: .error, message: "timeout"))

    @Test("a trace split over batches and services reads back as one, in start order", arguments: StoreBackend.allCases)
    func traceAcrossBatches(_ backend: StoreBackend) throws {
        let store = try backend.make(directory)
        #expect(try store.ingest(Self.spans(service: "inventory", [Self.child]), batchID: "b2") == .stored(items: 1))
        #expect(try store.ingest(Self.spans(service: "checkout", [Self.root]), batchID: "b1") == .stored(items: 1))
        let trace = try #require(try store.trace(Self.traceID))
        #expect(trace.spans.map(\.spanID) == [SpanID(1), SpanID(2)])
        #expect(trace.spans.map(\.service) == ["checkout", "inventory"])
        let root = trace.spans[0]
        #expect(root.parentSpanID == nil)
        #expect(root.kind == "server")
        #expect(root.durationNanos == 8_000)
        #expect(root.attributes == ["http.route": .string("/checkout"), "retries": .int(2)])
        #expect(root.events.map(\.name) == ["cache miss"])
        #expect(root.resource["host.name"] == .string("h1"))
        #expect(trace.spans[1].status == QueryAPI.Status(code: "error", message: "timeout"))
        #expect(trace.spans[1].parentSpanID == SpanID(1))
        #expect(try store.trace(TraceID(high: 9, low: 9)) == nil)
    }

    @Test("a trace in more blocks than a read takes at once, over two days, reads back whole", arguments: StoreBackend.allCases)
    func traceInManyBlocks(_ backend: StoreBackend) throws {
        let store = try backend.make(directory)
        let traceID = TraceID(high: 77, low: 78)
        let secondDay = PartitionDay.nanosPerDay * 19_000
        // 40 batches, each a block of its own: the first 25 on one day, the rest on the next.
        for index in 0..<40 {
            let start = secondDay - 25 * 1_000_000 + UInt64(index) * 1_000_000
            let span = Span(traceID: traceID, spanID: SpanID(UInt64(index + 1)), parentSpanID: index == 0 ? nil : SpanID(1),
                            name: "step \(index)", kind: index == 0 ? .server : .internal, startTimeUnixNano: start, endTimeUnixNano: start + 500)
            let other = Span(traceID: TraceID(high: 5, low: UInt64(index + 1)), spanID: SpanID(1), name: "other", kind: .server,
                             startTimeUnixNano: start, endTimeUnixNano: start + 10)
            #expect(try store.ingest(Self.spans(service: "svc", [other, span]), batchID: "many-\(index)") == .stored(items: 2))
        }
        let trace = try #require(try store.trace(traceID, limit: 1_000))
        #expect(trace.spans.map(\.spanID) == (1...40).map { SpanID(UInt64($0)) })
        #expect(trace.totalSpans == 40)
        // Cut: the first spans by start, whichever day is read first, and the count of all.
        for limit in [1, 3, 7, 39] {
            let cut = try #require(try store.trace(traceID, limit: limit))
            #expect(cut.spans.map(\.spanID) == (1...limit).map { SpanID(UInt64($0)) }, "limit \(limit)")
            #expect(cut.totalSpans == 40)
        }
        let summary = try #require(try store.summary(traceID))
        #expect(summary.spanCount == 40)
        #expect(summary.rootName == "step 0")
    }

    @Test("a batch ID seen before stores nothing, across a reopen", arguments: StoreBackend.allCases)
    func deduplicatesByBatchID(_ backend: StoreBackend) throws {
        do {
            let store = try backend.make(directory)
            #expect(try store.ingest(Self.logs(count: 3), batchID: "same") == .stored(items: 3))
            #expect(try store.ingest(Self.logs(count: 3), batchID: "same") == .duplicate)
        }
        let reopened = try backend.make(directory)
        #expect(try reopened.ingest(Self.logs(count: 3), batchID: "same") == .duplicate)
        #expect(try reopened.counts()["logs"] == 3)
        #expect(try reopened.ingest(Self.logs(count: 3), batchID: nil) == .stored(items: 3))
        #expect(try reopened.counts()["logs"] == 6)
    }

    static func logs(count: Int) -> TelemetryBatch {
        .logs([ResourceLogs(resource: Resource(serviceName: "checkout"), scopes: [ScopeLogs(records: (0..<count).map {
            LogRecord(timeUnixNano: UInt64(10 - $0), severityNumber: .info, body: .string("line \($0)"),
                      attributes: [Attribute("n", .int(Int64($0)))], traceID: traceID, spanID: SpanID(1))
        })])])
    }

    @Test("logs by trace ID come oldest first, with severity names filled in", arguments: StoreBackend.allCases)
    func logsByTrace(_ backend: StoreBackend) throws {
        let store = try backend.make(directory)
        _ = try store.ingest(Self.logs(count: 3), batchID: nil)
        _ = try store.ingest(.logs([ResourceLogs(resource: Resource(serviceName: "other"), scopes: [ScopeLogs(records: [
            LogRecord(timeUnixNano: 1, body: .string("unrelated")),
        ])])]), batchID: nil)
        let logs = try store.logs(LogQuery(traceID: Self.traceID)).logs
        #expect(logs.map(\.body) == [.string("line 2"), .string("line 1"), .string("line 0")])
        #expect(logs.allSatisfy { $0.severityText == "INFO" && $0.spanID == SpanID(1) && $0.traceID == Self.traceID })
        #expect(try store.logs(LogQuery(traceID: Self.traceID, limit: 2)).logs.count == 2)
    }

    @Test("metrics of every kind are stored", arguments: StoreBackend.allCases)
    func metrics(_ backend: StoreBackend) throws {
        let store = try backend.make(directory)
        let batch = TelemetryBatch.metrics([ResourceMetrics(resource: Resource(serviceName: "m"), scopes: [ScopeMetrics(metrics: [
            Metric(name: "g", data: .gauge([NumberPoint(timeUnixNano: 1, value: .double(0.5))])),
            Metric(name: "s", data: .sum([NumberPoint(timeUnixNano: 1, value: .int(3)), NumberPoint(timeUnixNano: 2, value: .int(4))], temporality: .cumulative, isMonotonic: true)),
            Metric(name: "h", data: .histogram([HistogramPoint(timeUnixNano: 1, count: 2, sum: 3, bucketCounts: [1, 1], explicitBounds: [1])], temporality: .delta)),
        ])])])
        #expect(try store.ingest(batch, batchID: "m1") == .stored(items: 4))
        #expect(try store.counts()["metric_points"] == 4)
    }
}

@Suite("Store layout")
struct StoreLayoutTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("layout-\(UUID().uuidString)").path

    @Test("a partition file of an older schema is refused with what to do")
    func olderSchemaRefused() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/2025-01-01.db"
        do {
            let old = try SQLiteDatabase(path: path)
            try old.execute("CREATE TABLE spans (trace_id BLOB); PRAGMA user_version=3;")
        }
        do {
            _ = try SQLiteStore(directory: directory)
            Issue.record("an older partition file was opened")
        } catch let error as PartitionSchemaMismatch {
            #expect(error.found == 3)
            #expect(error.description.contains(path))
            #expect(error.description.contains("older Periscope"))
            #expect(error.description.contains("aside"))
        }
    }

    static func randomSpans(_ count: Int, at startUnixNano: UInt64) -> TelemetryBatch {
        SQLiteStoreTests.spans(service: "checkout", (0..<count).map { index in
            Span(
                traceID: TraceID(high: .random(in: 1...UInt64.max), low: .random(in: 1...UInt64.max)), spanID: SpanID(UInt64(index + 1)),
                name: "GET /item", kind: .server, startTimeUnixNano: startUnixNano + UInt64(index), endTimeUnixNano: startUnixNano + UInt64(index) + 1_000)
        })
    }

    @Test("a day file that is not a database is moved aside at start and named; the other days are served and its day starts over")
    func notADatabaseAtStart() throws {
        let day: UInt64 = 86_400_000_000_000
        let damagedDay = 10 * day, healthyDay = 12 * day
        let first = Self.randomSpans(1, at: damagedDay + 5)
        let second = Self.randomSpans(1, at: healthyDay + 5)
        do {
            let store = try SQLiteStore(directory: directory)
            _ = try store.ingest(first, batchID: "a")
            _ = try store.ingest(second, batchID: "b")
        }
        let path = Partition.path(of: PartitionDay(unixNano: damagedDay), in: directory)
        Partition.removeFiles(path)
        var generator = SystemRandomNumberGenerator()
        try Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: URL(fileURLWithPath: path))

        let reopened = try SQLiteStore(directory: directory)
        let moved = reopened.damagedFilesMovedAside
        #expect(moved.count == 1 && moved[0].hasPrefix(path + ".damaged-"), "\(moved)")
        #expect(FileManager.default.fileExists(atPath: moved[0]))
        #expect(try reopened.trace(SQLiteStoreTests.traceIDs(of: second)[0])?.spans.count == 1, "the healthy day is served")
        #expect(try reopened.trace(SQLiteStoreTests.traceIDs(of: first)[0]) == nil)
        // Past retention, a moved-aside file whose header is not a Periscope one is not the collector's to delete.
        reopened.dropData(olderThan: damagedDay + day + 1)
        #expect(FileManager.default.fileExists(atPath: moved[0]))
        let again = Self.randomSpans(3, at: damagedDay + 7)
        #expect(try reopened.ingest(again, batchID: "c") == .stored(items: 3), "the damaged day starts over in a new file")
        #expect(try reopened.trace(SQLiteStoreTests.traceIDs(of: again)[2])?.spans.count == 1)
    }

    @Test("a day file cut short under the store is moved aside when a write finds it damaged; the write goes to a new file and is stored")
    func truncatedWhileStoring() throws {
        let day: UInt64 = 86_400_000_000_000
        let start = 20 * day
        do {
            let store = try SQLiteStore(directory: directory)
            for batch in 0..<30 { _ = try store.ingest(Self.randomSpans(1_000, at: start + UInt64(batch) * 1_000_000), batchID: "fill-\(batch)") }
        }
        let path = Partition.path(of: PartitionDay(unixNano: start), in: directory)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "the last connection's close checkpointed the WAL")
        // Cut under the open store (as a failing disk or a careless `truncate` would): the pages it
        // has not read yet are gone.
        let reopened = try SQLiteStore(directory: directory)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(truncate(path, off_t(size / 2)) == 0)
        let more = Self.randomSpans(2_000, at: start + 40_000_000)
        #expect(try reopened.ingest(more, batchID: "after") == .stored(items: 2_000))
        let moved = reopened.damagedFilesMovedAside
        #expect(moved.count == 1 && moved[0].hasPrefix(path + ".damaged-"), "\(moved)")
        for traceID in SQLiteStoreTests.traceIDs(of: more).prefix(20) {
            #expect(try reopened.trace(traceID)?.spans.count == 1)
        }
        // The damaged file's connections were closed before it was moved: their last close did not
        // delete the new file's WAL (its commits would then live in an unlinked file). Another
        // process opening the directory now (as after a crash) sees every commit.
        #expect(FileManager.default.fileExists(atPath: path + "-wal"), "the new day file's WAL is there")
        let elsewhere = try SQLiteStore(directory: directory)
        for traceID in SQLiteStoreTests.traceIDs(of: more).suffix(20) {
            #expect(try elsewhere.trace(traceID)?.spans.count == 1)
        }
        // Later writes to that day go on in the new file.
        #expect(try reopened.ingest(Self.randomSpans(10, at: start + 50_000_000), batchID: "later") == .stored(items: 10))
        #expect(reopened.damagedFilesMovedAside.count == 1)
        // Past retention the moved-aside file (a Periscope file: its header is intact) goes with its WAL, as its day's would.
        #expect(FileManager.default.createFile(atPath: moved[0] + "-wal", contents: Data([1])))
        _ = try SQLiteStore(directory: directory, expiredBefore: start + day + 1)
        #expect(!FileManager.default.fileExists(atPath: moved[0]) && !FileManager.default.fileExists(atPath: moved[0] + "-wal"))
    }

    @Test("a new partition is stamped with the schema version and reopens")
    func versionStamped() throws {
        let store = try SQLiteStore(directory: directory)
        _ = try store.ingest(SQLiteStoreTests.spans(service: "checkout", [SQLiteStoreTests.root]), batchID: nil)
        let database = try SQLiteDatabase(path: directory + "/\(PartitionDay(unixNano: 1_000)).db")
        #expect(try database.integer("PRAGMA user_version") == Int(Schema.version))
        let reopened = try SQLiteStore(directory: directory)
        #expect(try reopened.trace(SQLiteStoreTests.traceID)?.spans.count == 1)
    }

    @Test("spans re-sent without a batch ID are stored once, within a batch and across batches", arguments: StoreBackend.allCases)
    func spansDeduplicated(_ backend: StoreBackend) throws {
        let store = try backend.make(directory)
        let both = SQLiteStoreTests.spans(service: "checkout", [SQLiteStoreTests.root, SQLiteStoreTests.root, SQLiteStoreTests.child])
        #expect(try store.ingest(both, batchID: nil) == .stored(items: 3))
        _ = try store.ingest(both, batchID: nil)
        _ = try store.ingest(SQLiteStoreTests.spans(service: "checkout", [SQLiteStoreTests.child]), batchID: nil)
        #expect(try store.counts()["spans"] == 2)
        #expect(try store.counts()["traces"] == 1)
        #expect(try store.trace(SQLiteStoreTests.traceID)?.spans.count == 2)
        #expect(try store.summary(SQLiteStoreTests.traceID)?.spanCount == 2)
        #expect(try store.searchTraces(TraceQuery()).traces.count == 1)
    }
}
