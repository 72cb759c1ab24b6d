import Foundation
@testable import PeriscopeCollector
import PeriscopeModel
import PeriscopeQueryAPI
import Testing

/// Every query filter on a generated data set whose answers are known by construction,
/// including traces split across batches and across day partitions, and retention.
@Suite("Store search")
struct StoreSearchTests {
    static let day: UInt64 = 86_400 * 1_000_000_000
    static let ms: UInt64 = 1_000_000
    /// Two days: day A and day B = A + 1.
    static let dayA: UInt64 = 20_000 * day
    static let dayB: UInt64 = dayA + day

    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("search-\(UUID().uuidString)").path

    /// Trace n (1...40): root `checkout: POST /checkout` (server) at dayA + n minutes, lasting 10·n ms;
    /// child `inventory: GET /inventory` (server) lasting n ms; every 5th trace's child fails;
    /// even traces carry http.route=/checkout/fast, odd ones /checkout/slow; traces 38–40 start on day B.
    /// Children arrive in a second batch.
    static func traceID(_ n: Int) -> TraceID { TraceID(high: 0xabc, low: UInt64(n)) }

    static func start(_ n: Int) -> UInt64 { (n >= 38 ? dayB : dayA) + UInt64(n) * 60_000 * ms }

    func populatedStore(_ backend: StoreBackend) throws -> any TelemetryStore {
        let store = try backend.make(directory)
        var roots = [Span]()
        var children = [Span]()
        for n in 1...40 {
            let start = Self.start(n)
            roots.append(Span(
                traceID: Self.traceID(n), spanID: SpanID(UInt64(n) << 8), name: "POST /checkout", kind: .server,
                startTimeUnixNano: start, endTimeUnixNano: start + UInt64(10 * n) * Self.ms,
                attributes: [Attribute("http.route", .string(n % 2 == 0 ? "/checkout/fast" : "/checkout/slow")),
                             Attribute("customer.tier", .string(n % 3 == 0 ? "gold" : "basic"))]))
            children.append(Span(
                traceID: Self.traceID(n), spanID: SpanID(UInt64(n) << 8 | 1), parentSpanID: SpanID(UInt64(n) << 8),
                name: "GET /inventory", kind: .server, startTimeUnixNano: start + Self.ms, endTimeUnixNano: start + Self.ms + UInt64(n) * Self.ms,
                attributes: [Attribute("http.route", .string("/inventory"))],
                status: Span.Status(code: n % 5 == 0 ? .error : .unset)))
        }
        _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "checkout"), scopes: [ScopeSpans(spans: roots)])]), batchID: "roots")
        _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "inventory"), scopes: [ScopeSpans(spans: children)])]), batchID: "children")
        var logs = [LogRecord]()
        for n in 1...40 {
            logs.append(LogRecord(
                timeUnixNano: Self.start(n) + 2 * Self.ms, severityNumber: n % 5 == 0 ? .error : .info,
                body: .string(n % 5 == 0 ? "inventory lookup failed for order \(n)" : "checkout ok \(n)"),
                attributes: [Attribute("correlation_id", .string("req-\(n)"))], traceID: Self.traceID(n), spanID: SpanID(UInt64(n) << 8)))
        }
        _ = try store.ingest(.logs([ResourceLogs(resource: Resource(serviceName: "checkout"), scopes: [ScopeLogs(records: logs)])]), batchID: "logs")
        return store
    }

    func ids(_ traces: [QueryAPI.TraceSummary]) -> [Int] { traces.map { Int($0.traceID.low) } }

    @Test("partitions by day; a trace split over batches has one summary", arguments: StoreBackend.allCases)
    func partitionsAndSummaries(_ backend: StoreBackend) throws {
        let store = try populatedStore(backend)
        #expect(try store.storedDays().map(\.description).count == 2)
        let summary = try #require(try store.summary(Self.traceID(5)))
        #expect(summary.spanCount == 2)
        #expect(summary.errorCount == 1)
        #expect(summary.rootService == "checkout" && summary.rootName == "POST /checkout")
        #expect(summary.services == ["checkout", "inventory"])
        #expect(summary.durationNanos == 50 * Self.ms)
        #expect(try store.trace(Self.traceID(39))?.spans.count == 2, "a day-B trace reads back whole")
    }

    @Test("filters: service, operation, kind, status, durations, attributes, time range, limit, newest first", arguments: StoreBackend.allCases)
    func filters(_ backend: StoreBackend) throws {
        let store = try populatedStore(backend)
        var all = TraceQuery()
        all.limit = 100
        #expect(ids(try store.searchTraces(all).traces) == Array((1...40).reversed()), "newest first")

        var limited = all
        limited.limit = 3
        #expect(ids(try store.searchTraces(limited).traces) == [40, 39, 38])

        var errors = all
        errors.status = .error
        #expect(ids(try store.searchTraces(errors).traces) == [40, 35, 30, 25, 20, 15, 10, 5])

        var inventory = all
        inventory.service = "inventory"
        inventory.operation = "GET /inventory"
        inventory.minSpanDurationNanos = 30 * Self.ms
        #expect(ids(try store.searchTraces(inventory).traces) == Array((30...40).reversed()))

        var spanRange = all
        spanRange.minSpanDurationNanos = 100 * Self.ms
        spanRange.maxSpanDurationNanos = 150 * Self.ms
        #expect(ids(try store.searchTraces(spanRange).traces) == [15, 14, 13, 12, 11, 10])

        var traceRange = all
        traceRange.minTraceDurationNanos = 385 * Self.ms
        #expect(ids(try store.searchTraces(traceRange).traces) == [40, 39])
        traceRange.minTraceDurationNanos = nil
        traceRange.maxTraceDurationNanos = 30 * Self.ms
        #expect(ids(try store.searchTraces(traceRange).traces) == [3, 2, 1])

        var kind = all
        kind.kind = .client
        #expect(try store.searchTraces(kind).traces.isEmpty)

        var indexedAttribute = all
        indexedAttribute.attributes = [Attribute("http.route", .string("/checkout/fast"))]
        #expect(ids(try store.searchTraces(indexedAttribute).traces) == stride(from: 40, through: 2, by: -2).map { $0 })

        var bothAttributes = indexedAttribute
        bothAttributes.attributes.append(Attribute("customer.tier", .string("gold")))
        #expect(ids(try store.searchTraces(bothAttributes).traces) == [36, 30, 24, 18, 12, 6], "AND on one span, one key not indexed")

        var dayB = all
        dayB.startUnixNano = Self.dayB
        #expect(ids(try store.searchTraces(dayB).traces) == [40, 39, 38])
        var window = all
        window.startUnixNano = Self.start(10)
        window.endUnixNano = Self.start(12)
        #expect(ids(try store.searchTraces(window).traces) == [12, 11, 10])
    }

    @Test("trace ID prefixes resolve to the traces that start with them", arguments: StoreBackend.allCases)
    func idPrefix(_ backend: StoreBackend) throws {
        let store = try populatedStore(backend)
        #expect(try store.traces(withIDPrefix: "0000000000000abc", limit: 100).count == 40)
        #expect(try store.traces(withIDPrefix: "0000000000000abc0000000000000007", limit: 5).map(\.traceID) == [Self.traceID(7)])
        #expect(try store.traces(withIDPrefix: "0000000000000abc000000000000000", limit: 100).count == 15, "0x00–0x0f: traces 1–15")
        #expect(try store.traces(withIDPrefix: "ffff", limit: 5).isEmpty)
    }

    @Test("log filters: trace, correlation ID, service, level, text, time range, order", arguments: StoreBackend.allCases)
    func logFilters(_ backend: StoreBackend) throws {
        let store = try populatedStore(backend)
        #expect(try store.logs(LogQuery(traceID: Self.traceID(7))).logs.map(\.body) == [.string("checkout ok 7")])
        #expect(try store.logs(LogQuery(correlationID: "req-12")).logs.map(\.traceID) == [Self.traceID(12)])
        #expect(try store.logs(LogQuery(service: "checkout")).logs.count == 40)
        #expect(try store.logs(LogQuery(service: "inventory")).logs.isEmpty)
        #expect(try store.logs(LogQuery(minSeverity: 17)).logs.count == 8)
        #expect(try store.logs(LogQuery(contains: "lookup failed")).logs.count == 8)
        #expect(try store.logs(LogQuery(startUnixNano: Self.dayB)).logs.count == 3)
        var newest = LogQuery(limit: 2)
        newest.newestFirst = true
        #expect(try store.logs(newest).logs.map(\.body) == [.string("inventory lookup failed for order 40"), .string("checkout ok 39")])
        #expect(try store.logs(LogQuery(limit: 2)).logs.map(\.body) == [.string("checkout ok 1"), .string("checkout ok 2")])
    }

    @Test("services, operations and the dependency graph", arguments: StoreBackend.allCases)
    func servicesAndDependencies(_ backend: StoreBackend) throws {
        let store = try populatedStore(backend)
        let services = try store.services()
        #expect(services.map(\.name) == ["checkout", "inventory"])
        #expect(services.first?.operations == [QueryAPI.Operation(name: "POST /checkout", kind: "server")])
        #expect(try store.dependencies(from: 0, to: .max, budget: .standard).edges == [QueryAPI.Dependency(caller: "checkout", callee: "inventory", calls: 40, errors: 8)])
        #expect(try store.dependencies(from: Self.dayB, to: .max, budget: .standard).edges == [QueryAPI.Dependency(caller: "checkout", callee: "inventory", calls: 3, errors: 1)])
    }

    @Test("a log's attributes and body read back as sent, whatever its correlation attribute", arguments: StoreBackend.allCases)
    func logAttributesRoundTrip(_ backend: StoreBackend) throws {
        let store = try backend.make(directory)
        let long = String(repeating: "x", count: 2_000)
        let cases: [(attributes: [Attribute], body: AttributeValue)] = [
            ([Attribute("correlation_id", .string("c-1")), Attribute("user", .string("ann"))], .string("plain text")),
            ([Attribute("request_id", .int(42))], .int(7)),
            ([Attribute("correlation_id", .string("c-2")), Attribute("correlation_id", .string("c-3"))], .string("")),
            ([Attribute("correlation_id", .string("")), Attribute("x-request-id", .string("r-1"))], .string("a\u{0}b")),
            ([Attribute("correlation.id", .string(long))], .bool(true)),
            ([Attribute("request_id", .string("nul\u{0}id"))], .string("x")),
            ([], .string("no attributes")),
            ([Attribute("correlation_id", .string("c-4"))], .empty),
        ]
        for (index, item) in cases.enumerated() {
            let record = LogRecord(timeUnixNano: Self.dayA + UInt64(index), body: item.body, attributes: item.attributes)
            _ = try store.ingest(.logs([ResourceLogs(resource: Resource(serviceName: "roundtrip"), scopes: [ScopeLogs(records: [record])])]), batchID: "rt\(index)")
        }
        let logs = try store.logs(LogQuery(service: "roundtrip", limit: 100)).logs
        try #require(logs.count == cases.count)
        for (log, item) in zip(logs.sorted { $0.timeUnixNano < $1.timeUnixNano }, cases) {
            #expect(log.attributes == item.attributes.dictionary, "\(item.attributes)")
            #expect(log.body == item.body, "the exact body, NUL included")
        }
        #expect(try store.logs(LogQuery(correlationID: "c-1")).logs.first?.attributes["user"] == .string("ann"))
        #expect(try store.logs(LogQuery(correlationID: "r-1")).logs.count == 1)
    }

    @Test("retention drops whole old partitions and only those", arguments: StoreBackend.allCases)
    func retention(_ backend: StoreBackend) throws {
        let store = try populatedStore(backend)
        let dropped = store.dropData(olderThan: Self.dayB)
        #expect(dropped.count == 1)
        #expect(try store.storedDays().count == 1)
        #expect(try store.trace(Self.traceID(5)) == nil)
        #expect(try store.trace(Self.traceID(39)) != nil)
        if backend == .sqlite {
            let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".db") && $0 != "alerts.db" }
            #expect(files.count == 1)
        }
        // Reopening finds the same partitions.
        let reopened = try backend.make(directory)
        #expect(try reopened.storedDays() == store.storedDays())
    }

    @Test("a re-sent batch is stored once, also when it spans two days", arguments: StoreBackend.allCases)
    func duplicateAcrossDays(_ backend: StoreBackend) throws {
        let store = try backend.make(directory)
        let records = [LogRecord(timeUnixNano: Self.dayA + 5, body: .string("a")), LogRecord(timeUnixNano: Self.dayB + 5, body: .string("b"))]
        let batch = TelemetryBatch.logs([ResourceLogs(resource: Resource(serviceName: "x"), scopes: [ScopeLogs(records: records)])])
        #expect(try store.ingest(batch, batchID: "two-days") == .stored(items: 2))
        #expect(try store.ingest(batch, batchID: "two-days") == .duplicate)
        #expect(try store.counts()["logs"] == 2)
    }
}
