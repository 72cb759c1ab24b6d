import Foundation
@testable import PeriscopeCollector
import PeriscopeModel
import PeriscopeQueryAPI
import PeriscopeTesting
import Synchronization
import Testing

/// The store against a model: seeded random traces (split over batches and over two days,
/// some spans re-sent without a batch ID, start times in arrival order or random) and random
/// searches, every answer compared with one computed from the spans directly by the search's
/// definition — traces with a span passing every span filter in the range, newest first by the
/// latest such span (ties: higher trace ID first), trace filters on the whole trace.
@Suite("Store against a model")
struct StoreModelTests {
    static let day: UInt64 = 86_400 * 1_000_000_000
    static let dayA: UInt64 = 20_100 * day
    static let ms: UInt64 = 1_000_000

    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("model-\(UUID().uuidString)").path

    struct Stored {
        var service: String
        var span: Span
    }

    static let services = ["checkout", "inventory", "payments"]
    static let operations = ["GET /a", "POST /b", "GET /c", "PUT /d"]
    static let routes = ["/r/0", "/r/1", "/r/2"]
    static let tiers = ["gold", "basic"]

    /// Spans of `traces` traces; with `ordered`, trace n starts around n minutes after dayA's
    /// 23:00 (so later traces cross into the next day), otherwise anywhere in the two days.
    static func generate(traces: Int, ordered: Bool, seed: UInt64) -> [Stored] {
        var generator = SeededGenerator(seed: seed)
        var out = [Stored]()
        for n in 0..<traces {
            let traceID = TraceID(high: n % 7 == 0 ? 0xabc : generator.next(), low: UInt64(n + 1))
            let base = ordered
                ? dayA + 23 * 3_600_000_000_000 + UInt64(n) * 20_000 * ms + UInt64.random(in: 0...(30_000 * ms), using: &generator)
                : dayA + UInt64.random(in: 0...(2 * day - 3_600_000_000_000), using: &generator)
            let count = Int.random(in: 1...8, using: &generator)
            for s in 0..<count {
                // Coarse times make equal starts (ties) likely.
                let start = base + UInt64.random(in: 0...40, using: &generator) * 5 * ms
                let duration = UInt64.random(in: 0...400, using: &generator) * ms
                var attributes = [Attribute("http.route", .string(routes.randomElement(using: &generator)!))]
                if Bool.random(using: &generator) { attributes.append(Attribute("customer.tier", .string(tiers.randomElement(using: &generator)!))) }
                if Bool.random(using: &generator) { attributes.append(Attribute("http.response.status_code", .int(Bool.random(using: &generator) ? 200 : 503))) }
                let span = Span(
                    traceID: traceID, spanID: SpanID(UInt64(n) << 8 | UInt64(s + 1)),
                    parentSpanID: s == 0 ? nil : SpanID(UInt64(n) << 8 | UInt64(Int.random(in: 1...s, using: &generator))),
                    name: operations.randomElement(using: &generator)!,
                    kind: [Span.Kind.server, .client, .internal].randomElement(using: &generator)!,
                    startTimeUnixNano: start, endTimeUnixNano: s == 2 && n % 11 == 0 ? start - ms : start + duration,
                    attributes: attributes,
                    status: Span.Status(code: Int.random(in: 0..<10, using: &generator) == 0 ? .error : .unset))
                out.append(Stored(service: services.randomElement(using: &generator)!, span: span))
            }
        }
        return out
    }

    /// Ingests `spans` in batches of about `batchSize` (in order, or shuffled), re-sending every
    /// 5th batch without a batch ID.
    static func ingest(_ spans: [Stored], into store: any TelemetryStore, batchSize: Int, shuffle: Bool, seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        var order = spans
        if shuffle { order.shuffle(using: &generator) }
        for (index, first) in stride(from: 0, to: order.count, by: batchSize).enumerated() {
            let chunk = order[first..<min(first + batchSize, order.count)]
            let groups = Dictionary(grouping: chunk, by: \.service).sorted { $0.key < $1.key }.map { service, items in
                ResourceSpans(resource: Resource(serviceName: service), scopes: [ScopeSpans(spans: items.map(\.span))])
            }
            _ = try store.ingest(.traces(groups), batchID: "b\(index)")
            if index % 5 == 0 { _ = try store.ingest(.traces(groups), batchID: nil) }
        }
    }

    /// The answer by definition.
    /// A failed span as DESIGN §6 defines it: status error, or a server span with an HTTP 5xx status.
    static func failed(_ span: Span) -> Bool {
        if span.status.code == .error { return true }
        guard span.kind == .server, case .int(let code) = span.attributes.first(where: { $0.key == "http.response.status_code" })?.value else { return false }
        return code >= 500
    }

    static func expected(_ spans: [Stored], _ query: TraceQuery) -> [TraceID] {
        let end = min(query.endUnixNano, UInt64(Int64.max))
        var latest = [TraceID: UInt64]()
        for stored in spans {
            let span = stored.span
            guard span.startTimeUnixNano >= query.startUnixNano, span.startTimeUnixNano <= end else { continue }
            if let service = query.service, stored.service != service { continue }
            if let operation = query.operation, span.name != operation { continue }
            if let kind = query.kind, span.kind != kind { continue }
            // status=error asks for failed spans (DESIGN §6); ok and unset for the span's own status.
            if let status = query.status, status == .error ? !Self.failed(span) : span.status.code != status { continue }
            let duration = Int64(bitPattern: span.endTimeUnixNano &- span.startTimeUnixNano)
            if let minimum = query.minSpanDurationNanos, duration < Int64(minimum) { continue }
            if let maximum = query.maxSpanDurationNanos, duration > Int64(maximum) { continue }
            let matches = query.attributes.allSatisfy { wanted in
                span.attributes.contains { $0.key == wanted.key && $0.value.text == wanted.value.text }
            }
            guard matches else { continue }
            latest[span.traceID] = max(latest[span.traceID] ?? 0, span.startTimeUnixNano)
        }
        let summaries = Dictionary(grouping: spans, by: \.span.traceID)
        return latest.filter { traceID, _ in
            let trace = summaries[traceID]!.map(\.span)
            let start = trace.map(\.startTimeUnixNano).min()!, stop = trace.map(\.endTimeUnixNano).max()!
            let duration = stop >= start ? stop - start : 0
            if let minimum = query.minTraceDurationNanos, duration < minimum { return false }
            if let maximum = query.maxTraceDurationNanos, duration > maximum { return false }
            return true
        }
        .sorted { ($0.value, $0.key) > ($1.value, $1.key) }
        .prefix(query.limit).map(\.key)
    }

    static func randomQuery(_ generator: inout SeededGenerator) -> TraceQuery {
        var query = TraceQuery()
        func maybe() -> Bool { Int.random(in: 0..<3, using: &generator) == 0 }
        if maybe() { query.service = services.randomElement(using: &generator) }
        if maybe() { query.operation = operations.randomElement(using: &generator) }
        if maybe() { query.kind = [Span.Kind.server, .client, .producer].randomElement(using: &generator) }
        if maybe() { query.status = [Span.Status.Code.error, .unset, .ok].randomElement(using: &generator) }
        if maybe() { query.attributes.append(Attribute("http.route", .string(routes.randomElement(using: &generator)!))) }
        if maybe() { query.attributes.append(Attribute("customer.tier", .string(tiers.randomElement(using: &generator)!))) }
        if maybe() { query.attributes.append(Attribute("http.response.status_code", .string(Bool.random(using: &generator) ? "200" : "503"))) }
        if maybe() { query.minSpanDurationNanos = UInt64.random(in: 0...300, using: &generator) * ms }
        if maybe() { query.maxSpanDurationNanos = UInt64.random(in: 0...300, using: &generator) * ms }
        if maybe() { query.minTraceDurationNanos = UInt64.random(in: 0...500, using: &generator) * ms }
        if maybe() { query.maxTraceDurationNanos = UInt64.random(in: 0...500, using: &generator) * ms }
        if maybe() {
            query.startUnixNano = dayA + UInt64.random(in: 0...(2 * day), using: &generator)
            query.endUnixNano = query.startUnixNano + UInt64.random(in: 0...day, using: &generator)
        }
        query.limit = [1, 3, 20, 1000].randomElement(using: &generator)!
        return query
    }

    func check(_ backend: StoreBackend, ordered: Bool, shuffle: Bool, seed: UInt64) throws {
        let spans = Self.generate(traces: 400, ordered: ordered, seed: seed)
        let store = try backend.make(directory + "-\(seed)")
        defer { try? FileManager.default.removeItem(atPath: directory + "-\(seed)") }
        try Self.ingest(spans, into: store, batchSize: 97, shuffle: shuffle, seed: seed)
        #expect(try store.counts()["spans"] == spans.count, "re-sent spans are stored once")

        var generator = SeededGenerator(seed: seed ^ 0xfeed)
        var answered = 0
        for _ in 0..<300 {
            let query = Self.randomQuery(&generator)
            let answer = try store.searchTraces(query).traces.map(\.traceID)
            let expected = Self.expected(spans, query)
            #expect(answer == expected, "query \(query)")
            if !expected.isEmpty { answered += 1 }
        }
        #expect(answered > 150, "most random queries have answers, so the comparison means something")

        let byTrace = Dictionary(grouping: spans, by: \.span.traceID)
        for traceID in byTrace.keys.sorted().prefix(60) {
            let spans = byTrace[traceID]!
            let trace = try #require(try store.trace(traceID))
            #expect(trace.spans.map(\.spanID) == spans.map(\.span).sorted { ($0.startTimeUnixNano, $0.spanID) < ($1.startTimeUnixNano, $1.spanID) }.map(\.spanID))
            let summary = try #require(try store.summary(traceID))
            #expect(summary.spanCount == spans.count)
            #expect(summary.errorCount == spans.filter { Self.failed($0.span) }.count)
            #expect(summary.services == Set(spans.map(\.service)).sorted())
            #expect(summary.startTimeUnixNano == spans.map(\.span.startTimeUnixNano).min())
        }
    }

    @Test("searches, traces and summaries equal the model: spans in arrival order", arguments: StoreBackend.allCases)
    func orderedArrival(_ backend: StoreBackend) throws { try check(backend, ordered: true, shuffle: false, seed: 1) }

    @Test("searches, traces and summaries equal the model: a backfill in random order", arguments: StoreBackend.allCases)
    func randomArrival(_ backend: StoreBackend) throws { try check(backend, ordered: false, shuffle: true, seed: 2) }

    @Test("a search out of verification budget answers with matches it verified, in order")
    func verificationBudget() throws {
        let spans = Self.generate(traces: 300, ordered: false, seed: 8)
        let store = try SQLiteStore(directory: directory)
        try Self.ingest(spans, into: store, batchSize: 61, shuffle: true, seed: 8)
        var query = TraceQuery()
        query.attributes = [Attribute("customer.tier", .string("gold"))]
        query.limit = 1000
        let partition = try #require(store.allPartitions.last)
        var search = PartitionTraceSearch(query: query, indexedAttributes: store.indexedAttributes, workBudget: 60)
        let page = try partition.reader.withLock { try search.next(1000, in: SQLitePartitionBlocks(partition: partition, database: $0)) }
        #expect(search.work == 60)
        var unbounded = PartitionTraceSearch(query: query, indexedAttributes: store.indexedAttributes, workBudget: .max)
        let all = try partition.reader.withLock { try unbounded.next(1000, in: SQLitePartitionBlocks(partition: partition, database: $0)) }
        #expect(unbounded.work > 60, "the budget stopped the search early")
        #expect(!page.isEmpty && page.count < all.count)
        // A term no block has: each block's index read is work too, so the search stops.
        var absent = TraceQuery()
        absent.service = "no-such-service"
        var bounded = PartitionTraceSearch(query: absent, indexedAttributes: store.indexedAttributes, workBudget: 5)
        #expect(try partition.reader.withLock { try bounded.next(10, in: SQLitePartitionBlocks(partition: partition, database: $0)) }.isEmpty)
        #expect(bounded.work == 5)
        var everyBlock = PartitionTraceSearch(query: absent, indexedAttributes: store.indexedAttributes, workBudget: .max)
        #expect(try partition.reader.withLock { try everyBlock.next(10, in: SQLitePartitionBlocks(partition: partition, database: $0)) }.isEmpty)
        #expect(everyBlock.work > 5, "the partition has more blocks than the budget")
        #expect(page.map(\.start) == page.map(\.start).sorted(by: >))
        let everything = Set(Self.expected(spans, query))
        #expect(page.allSatisfy { everything.contains($0.traceID) })
    }

    @Test("a trace search cut by its work budget says so; one that ran its course does not", arguments: StoreBackend.allCases)
    func searchTruncated(_ backend: StoreBackend) throws {
        let spans = Self.generate(traces: 300, ordered: false, seed: 8)
        let store = try backend.make(directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.ingest(spans, into: store, batchSize: 61, shuffle: true, seed: 8)
        var query = TraceQuery()
        query.attributes = [Attribute("customer.tier", .string("gold"))]
        query.limit = 1000
        let whole = try store.searchTraces(query)
        #expect(!whole.truncated)
        #expect(whole.traces.map(\.traceID) == Self.expected(spans, query))
        query.workBudget = 40
        let cut = try store.searchTraces(query)
        #expect(cut.truncated)
        #expect(cut.traces.count < whole.traces.count)
        #expect(Set(cut.traces.map(\.traceID)).isSubset(of: Set(whole.traces.map(\.traceID))))
        // Enough found within the budget: the answer is whole.
        query.limit = 1
        #expect(try !store.searchTraces(query).truncated)
        var absent = TraceQuery()
        absent.service = "no-such-service"
        #expect(try !store.searchTraces(absent).truncated)
        absent.workBudget = 2
        let stopped = try store.searchTraces(absent)
        #expect(stopped.truncated && stopped.traces.isEmpty)
    }

    @Test("dependencies equal the model, also when parent and child arrive in different batches", arguments: StoreBackend.allCases)
    func dependencies(_ backend: StoreBackend) throws {
        let spans = Self.generate(traces: 300, ordered: false, seed: 5)
        let store = try backend.make(directory)
        try Self.ingest(spans, into: store, batchSize: 53, shuffle: true, seed: 5)
        let start = Self.dayA + 20 * 3_600_000_000_000, end = start + Self.day
        let answer = try store.dependencies(from: start, to: end, budget: .standard)
        #expect(answer.edges == Self.modelDependencies(spans, from: start, to: end))
        #expect(!answer.truncated && answer.spansRead >= answer.edges.reduce(0) { $0 + $1.calls })
    }

    @Test("dependencies within a budget: parents looked up in rounds of one child, a wide trace, a span budget that runs out", arguments: StoreBackend.allCases)
    func dependencyBudget(_ backend: StoreBackend) throws {
        var spans = Self.generate(traces: 300, ordered: false, seed: 9)
        // One trace of 200 spans in one batch: its children find their parent through a table.
        let wide = TraceID(high: 0xfeed, low: 1), base = Self.dayA + 30 * 3_600_000_000_000
        let wideSpans = (0..<200).map { n in
            Stored(service: Self.services[n % Self.services.count], span: Span(
                traceID: wide, spanID: SpanID(UInt64(n + 1)), parentSpanID: n == 0 ? nil : SpanID(UInt64(n / 2 + 1)),
                name: "wide", kind: .server, startTimeUnixNano: base + UInt64(n) * Self.ms, endTimeUnixNano: base + UInt64(n + 1) * Self.ms,
                status: Span.Status(code: n % 9 == 0 ? .error : .unset)))
        }
        let store = try backend.make(directory)
        try Self.ingest(spans, into: store, batchSize: 53, shuffle: true, seed: 9)
        let wideGroups = Dictionary(grouping: wideSpans, by: \.service).sorted { $0.key < $1.key }.map { service, items in
            ResourceSpans(resource: Resource(serviceName: service), scopes: [ScopeSpans(spans: items.map(\.span))])
        }
        _ = try store.ingest(.traces(wideGroups), batchID: "wide")
        spans += wideSpans
        let start = Self.dayA, end = Self.dayA + 2 * Self.day
        let expected = Self.modelDependencies(spans, from: start, to: end)
        #expect(expected.contains { $0.calls > 50 }, "the wide trace's calls are in the model")

        let rounds = try store.dependencies(from: start, to: end, budget: CallCountBudget(work: .max, pendingChildren: 1))
        #expect(rounds.edges == expected)
        #expect(!rounds.truncated)

        let cut = try store.dependencies(from: start, to: end, budget: CallCountBudget(work: 1, pendingChildren: 50_000))
        #expect(cut.truncated)
        #expect(cut.spansRead >= 1 && cut.spansRead < rounds.spansRead)
        let whole = Dictionary(uniqueKeysWithValues: expected.map { ($0.caller + "→" + $0.callee, $0) })
        for edge in cut.edges {
            let model = try #require(whole[edge.caller + "→" + edge.callee])
            #expect(edge.calls <= model.calls && edge.errors <= model.errors)
        }
        #expect(cut.edges.reduce(0) { $0 + $1.calls } < expected.reduce(0) { $0 + $1.calls })
        // A larger budget reads the same newest blocks and more: no edge counts less.
        var previous = [String: Int]()
        for work in [1, 2_000, 20_000, Int.max] {
            let answer = try store.dependencies(from: start, to: end, budget: CallCountBudget(work: work, pendingChildren: 7))
            let counts = Dictionary(uniqueKeysWithValues: answer.edges.map { ($0.caller + "→" + $0.callee, $0.calls) })
            for (edge, calls) in previous { #expect((counts[edge] ?? 0) >= calls, "\(edge) at \(work)") }
            previous = counts
            if work == .max { #expect(answer.edges == expected && !answer.truncated) }
        }
    }

    @Test("a child read before the budget ran out is still matched with its parent in a block the budget never reached", arguments: StoreBackend.allCases)
    func dependencyOfTheLastBlockRead(_ backend: StoreBackend) throws {
        let store = try backend.make(directory)
        let trace = TraceID(high: 0xdead, low: 1), base = Self.dayA + 12 * 3_600_000_000_000
        let parent = Span(traceID: trace, spanID: SpanID(1), name: "GET /", kind: .server, startTimeUnixNano: base, endTimeUnixNano: base + 9 * Self.ms)
        let child = Span(traceID: trace, spanID: SpanID(2), parentSpanID: SpanID(1), name: "SELECT", kind: .client,
                         startTimeUnixNano: base + Self.ms, endTimeUnixNano: base + 2 * Self.ms)
        _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "web"), scopes: [ScopeSpans(spans: [parent])])]), batchID: "parent")
        // The child's block: the child and 399 spans of other traces, so that reading it spends a
        // budget of 400 and the lookup (a quarter more) has room for the parent's block.
        let others = (0..<399).map { (n: Int) -> Span in
            let start: UInt64 = base + UInt64(n) * Self.ms
            return Span(traceID: TraceID(high: 0xbeef, low: UInt64(n + 1)), spanID: SpanID(1), name: "SELECT", kind: .server,
                        startTimeUnixNano: start, endTimeUnixNano: start + Self.ms)
        }
        _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "db"), scopes: [ScopeSpans(spans: [child] + others)])]), batchID: "child")
        let cut = try store.dependencies(from: Self.dayA, to: Self.dayA + Self.day, budget: CallCountBudget(work: 400, pendingChildren: 50_000))
        #expect(cut.truncated, "the parent's block was left unread by the range's scan")
        #expect(cut.edges == [QueryAPI.Dependency(caller: "web", callee: "db", calls: 1, errors: 0)])
        let whole = try store.dependencies(from: Self.dayA, to: Self.dayA + Self.day, budget: .standard)
        #expect(!whole.truncated && whole.edges == cut.edges)
        // With no room past the budget the lookup stops too, and the call stays uncounted.
        let tight = try store.dependencies(from: Self.dayA, to: Self.dayA + Self.day, budget: CallCountBudget(work: 3, pendingChildren: 50_000))
        #expect(tight.truncated && tight.edges.isEmpty)
    }

    /// Caller → callee calls the store should count: a parent in the same day, of another service.
    static func modelDependencies(_ spans: [Stored], from start: UInt64, to end: UInt64) -> [QueryAPI.Dependency] {
        var expected = [String: QueryAPI.Dependency]()
        let bySpan = Dictionary(spans.map { (SpanKey(trace: $0.span.traceID, span: $0.span.spanID), $0) }, uniquingKeysWith: { first, _ in first })
        for child in spans where child.span.startTimeUnixNano >= start && child.span.startTimeUnixNano <= end {
            guard let parentID = child.span.parentSpanID, let parent = bySpan[SpanKey(trace: child.span.traceID, span: parentID)],
                  PartitionDay(unixNano: parent.span.startTimeUnixNano) == PartitionDay(unixNano: child.span.startTimeUnixNano),
                  parent.service != child.service else { continue }
            let key = parent.service + "→" + child.service
            expected[key, default: QueryAPI.Dependency(caller: parent.service, callee: child.service, calls: 0, errors: 0)].calls += 1
            if Self.failed(child.span) { expected[key]!.errors += 1 }
        }
        return expected.values.sorted { ($0.caller, $0.callee) < ($1.caller, $1.callee) }
    }
}

private struct SpanKey: Hashable {
    var trace: TraceID
    var span: SpanID
}

@Suite("Metric points against a model")
struct MetricPointModelTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("metricmodel-\(UUID().uuidString)").path

    @Test("points of one service in a range, oldest first; a read budget cut answers those before its bound, and resuming reads the rest once", arguments: StoreBackend.allCases)
    func pointsAndBudget(_ backend: StoreBackend) throws {
        let store = try backend.make(directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var generator = SeededGenerator(seed: 21)
        let base = StoreModelTests.dayA
        // Two days of a gauge from three services: four points to every two minutes, a few nanoseconds apart (some at the same one).
        var expected = [(time: UInt64, service: String, value: Double)]()
        for batch in 0..<60 {
            var byService = [String: [NumberPoint]]()
            for index in 0..<20 {
                let n = batch * 20 + index
                let time = base + UInt64(n / 4 * 4) * 120_000_000_000 + UInt64.random(in: 0..<3, using: &generator)
                let service = ["api", "db", "cache"][Int.random(in: 0..<3, using: &generator)]
                byService[service, default: []].append(NumberPoint(timeUnixNano: time, value: .double(Double(n))))
                expected.append((time, service, Double(n)))
            }
            let groups = byService.sorted { $0.key < $1.key }.map { service, points in
                ResourceMetrics(resource: Resource(serviceName: service), scopes: [ScopeMetrics(metrics: [Metric(name: "queue.depth", data: .gauge(points))])])
            }
            _ = try store.ingest(.metrics(groups), batchID: nil)
        }
        func model(_ service: String?, _ range: ClosedRange<UInt64>) -> [Double] {
            expected.filter { (service == nil || $0.service == service) && range.contains($0.time) }.sorted { $0.time < $1.time }.map(\.value)
        }
        func values(_ points: QueryAPI.MetricPoints) -> [Double] { points.points.map(\.value) }
        // Points of equal time come in arrival order; compare those as sets of each time.
        func same(_ a: [Double], _ b: [Double]) -> Bool { a.count == b.count && Set(a) == Set(b) }
        let all = try store.metricPoints(MetricQuery(name: "queue.depth", limit: 10_000))
        #expect(!all.truncated && same(values(all), model(nil, 0...UInt64.max)))
        #expect(all.points.map(\.timeUnixNano) == all.points.map(\.timeUnixNano).sorted())
        let window = (base + 30_000_000_000_000)...(base + 100_000_000_000_000)
        let db = try store.metricPoints(MetricQuery(name: "queue.depth", service: "db", startUnixNano: window.lowerBound, endUnixNano: window.upperBound, limit: 10_000))
        #expect(same(values(db), model("db", window)))
        #expect(db.points.allSatisfy { $0.service == "db" })
        let first = try store.metricPoints(MetricQuery(name: "queue.depth", service: "cache", limit: 5))
        #expect(first.points.count == 5 && Set(values(first)).isSubset(of: Set(model("cache", 0...UInt64.max).prefix(8))))
        #expect(try store.metricPoints(MetricQuery(name: "no.such.metric")).points.isEmpty)

        guard backend == .sqlite else { return }
        // Budget 50 points: the service's points before each bound, then on from it.
        var query = MetricQuery(name: "queue.depth", service: "api", limit: 10_000)
        query.readBudget = 50
        var answered = [Double]()
        var rounds = 0
        while rounds < 1_000 {
            rounds += 1
            let answer = try store.metricPoints(query)
            answered += values(answer)
            guard answer.truncated else { break }
            let resume = try #require(answer.resumeUnixNano)
            #expect(resume > query.startUnixNano, "each round moves on")
            #expect(answer.points.allSatisfy { $0.timeUnixNano < resume && $0.timeUnixNano >= query.startUnixNano })
            query.startUnixNano = resume
        }
        #expect(rounds > 10, "the budget cut the read")
        #expect(same(answered, model("api", 0...UInt64.max)), "every point once")
        // More points at the range's start than the budget: read on up to twice the budget.
        let crowd = base + 5_000_000_000
        _ = try store.ingest(.metrics([ResourceMetrics(resource: Resource(serviceName: "crowd"), scopes: [ScopeMetrics(metrics: [
            Metric(name: "crowded", data: .gauge((0..<30).map { NumberPoint(timeUnixNano: crowd, value: .double(Double($0))) })),
            Metric(name: "crowded", data: .gauge([NumberPoint(timeUnixNano: crowd + 1, value: .double(99))])),
        ])])]), batchID: nil)
        var crowded = MetricQuery(name: "crowded", startUnixNano: crowd)
        crowded.readBudget = 20
        let read = try store.metricPoints(crowded)
        #expect(read.truncated && read.points.count == 30 && read.resumeUnixNano == crowd + 1)
        crowded.readBudget = 10
        let stuck = try store.metricPoints(crowded)
        #expect(stuck.truncated && stuck.points.isEmpty && stuck.resumeUnixNano == crowd, "nothing whole")
    }
}

/// A writer that ingests a batch every 2 ms or so on a thread of its own until stopped, as
/// steady traffic does while a search is resumed round after round.
final class SteadyIngest: Sendable {
    private let stopped = Mutex(false)
    private let done = DispatchSemaphore(value: 0)
    /// What the writer stored (each batch's items, by the number `batch` was given).
    let written = Mutex<[Int]>([])

    /// Starts writing `batch(k)` for k = 0, 1, 2, …
    init(into store: any TelemetryStore, batch: @escaping @Sendable (Int) -> TelemetryBatch) {
        Thread.detachNewThread { [self] in
            var k = 0
            while !stopped.withLock({ $0 }) {
                if case .stored = try? store.ingest(batch(k), batchID: nil) { written.withLock { $0.append(k) } }
                k += 1
                usleep(2_000)
            }
            done.signal()
        }
    }

    /// Stops the writer and waits for its last batch.
    func stop() {
        stopped.withLock { $0 = true }
        done.wait()
    }
}

@Suite("Resumed searches under steady ingest")
struct ResumedUnderTrafficTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("resumetraffic-\(UUID().uuidString)").path

    @Test("log searches cut by a small budget and resumed while batches keep arriving (live and backfilled): every match stored before answered once, nothing twice", arguments: [true, false])
    func logs(newestFirst: Bool) throws {
        let store = try SQLiteStore(directory: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let base = StoreModelTests.dayA
        let second: UInt64 = 1_000_000_000
        @Sendable func batch(_ records: [(n: Int, time: UInt64)]) -> TelemetryBatch {
            .logs([ResourceLogs(resource: Resource(serviceName: "a"), scopes: [ScopeLogs(records: records.map {
                LogRecord(timeUnixNano: $0.time, severityNumber: .info, body: .string($0.n % 7 == 0 ? "needle \($0.n)" : "hay \($0.n)"),
                          attributes: [Attribute("n", .int(Int64($0.n)))])
            })])])
        }
        // Two days of blocks of 20, each within half an hour.
        for first in stride(from: 0, to: 3_000, by: 20) {
            _ = try store.ingest(batch((first..<(first + 20)).map { ($0, base + UInt64($0) * 57 * second + UInt64($0 % 20) * 60 * second) }), batchID: nil)
        }
        let before = Set((0..<3_000).filter { $0 % 7 == 0 })
        // Meanwhile: batches of 20 numbered from 100,000 on, alternately live (after everything
        // stored) and backfilled (20 minutes anywhere in the two days, as an agent catching up sends them).
        let traffic = SteadyIngest(into: store) { k in
            let live = k % 2 == 0
            return batch((0..<20).map { index in
                let n = 100_000 + k * 20 + index
                let time = live ? base + 2 * 86_400 * second - 1 - UInt64(n) : base + UInt64((k * 7_919) % (2 * 86_400 - 1_200) + index * 60) * second
                return (n, time)
            })
        }
        var query = LogQuery(contains: "needle", limit: 100_000)
        query.newestFirst = newestFirst
        query.readBudget = 200
        var answered = [Int]()
        var rounds = 0
        while rounds < 2_000 {
            rounds += 1
            let answer = try store.logs(query)
            answered += answer.logs.map { if case .int(let n)? = $0.attributes["n"] { Int(n) } else { -1 } }
            guard answer.truncated else { break }
            usleep(2_000)  // a batch or so arrives between two rounds
            let resume = try #require(answer.resumeUnixNano)
            if newestFirst {
                try #require(resume < query.endUnixNano, "each round moves on")
                query.endUnixNano = resume
            } else {
                try #require(resume > query.startUnixNano, "each round moves on")
                query.startUnixNano = resume
            }
        }
        traffic.stop()
        let added = Set(traffic.written.withLock { $0 }.flatMap { k in (0..<20).map { 100_000 + k * 20 + $0 } }.filter { $0 % 7 == 0 })
        #expect(rounds > 20, "the budget cut the search again and again: \(rounds) rounds")
        #expect(added.count > 10, "batches kept arriving during the search: \(added.count) matches")
        #expect(answered.count == Set(answered).count, "nothing answered twice")
        #expect(before.isSubset(of: Set(answered)), "every match stored before the search is answered")
        #expect(Set(answered).isSubset(of: before.union(added)), "nothing answered that was never stored")
    }

    @Test("a metric's points picked by service, cut by a small budget and resumed while points keep arriving: every point stored before answered once, nothing twice")
    func metricPoints() throws {
        let store = try SQLiteStore(directory: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let base = StoreModelTests.dayA
        let second: UInt64 = 1_000_000_000
        @Sendable func batch(_ points: [(n: Int, time: UInt64)]) -> TelemetryBatch {
            .metrics(["api", "db"].map { service in
                ResourceMetrics(resource: Resource(serviceName: service), scopes: [ScopeMetrics(metrics: [Metric(name: "queue.depth", data: .gauge(
                    points.filter { ($0.n % 2 == 0) == (service == "api") }.map { NumberPoint(timeUnixNano: $0.time, value: .double(Double($0.n))) }))])])
            })
        }
        for first in stride(from: 0, to: 3_000, by: 20) {
            _ = try store.ingest(batch((first..<(first + 20)).map { ($0, base + UInt64($0) * 57 * second) }), batchID: nil)
        }
        let before = Set((0..<3_000).filter { $0 % 2 == 0 })
        let traffic = SteadyIngest(into: store) { k in
            batch((0..<20).map { index in
                let n = 100_000 + k * 20 + index
                return (n, k % 2 == 0 ? base + 2 * 86_400 * second - 1 - UInt64(n) : base + UInt64((n * 7_919) % (2 * 86_400 - 60)) * second)
            })
        }
        var query = MetricQuery(name: "queue.depth", service: "api", limit: 10_000)
        query.readBudget = 50
        var answered = [Int]()
        var rounds = 0
        while rounds < 2_000 {
            rounds += 1
            let answer = try store.metricPoints(query)
            answered += answer.points.map { Int($0.value) }
            #expect(answer.points.allSatisfy { $0.service == "api" })
            guard answer.truncated else { break }
            usleep(2_000)  // a batch or so arrives between two rounds
            let resume = try #require(answer.resumeUnixNano)
            try #require(resume > query.startUnixNano, "each round moves on")
            query.startUnixNano = resume
        }
        traffic.stop()
        let added = Set(traffic.written.withLock { $0 }.flatMap { k in (0..<20).map { 100_000 + k * 20 + $0 } }.filter { $0 % 2 == 0 })
        #expect(rounds > 20, "the budget cut the read again and again: \(rounds) rounds")
        #expect(added.count > 10, "points kept arriving during the read: \(added.count)")
        #expect(answered.count == Set(answered).count, "nothing answered twice")
        #expect(before.isSubset(of: Set(answered)), "every point stored before the read is answered")
        #expect(Set(answered).isSubset(of: before.union(added)), "nothing answered that was never stored")
    }
}

@Suite("Logs against a model")
struct LogModelTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("logmodel-\(UUID().uuidString)").path

    @Test("logs by trace and by correlation ID over many lookup buckets, in batches, with every filter", arguments: StoreBackend.allCases)
    func keysAcrossBuckets(_ backend: StoreBackend) throws {
        let store = try backend.make(directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var generator = SeededGenerator(seed: 9)
        let base = StoreModelTests.dayA
        var records = [LogRecord]()
        // Batches of 20 (a log block each), more than three lookup buckets hold; each trace's
        // records spread over the batches, and every block's time range overlaps the others'.
        let batch = 20
        for n in 0..<((3 << LogKeys.bucketShift + 20) * batch) {
            let trace = Int.random(in: 0..<400, using: &generator)
            var attributes = [Attribute("n", .int(Int64(n)))]
            if trace % 3 != 0 { attributes.append(Attribute(trace % 3 == 1 ? "correlation_id" : "request_id", .string("req-\(trace)"))) }
            records.append(LogRecord(
                timeUnixNano: base + UInt64.random(in: 0..<86_400, using: &generator) * 1_000_000_000,
                severityNumber: Severity(rawValue: [9, 13, 17].randomElement(using: &generator)!),
                body: .string(Bool.random(using: &generator) ? "ok \(n)" : "failed \(n)"), attributes: attributes,
                traceID: trace % 5 == 4 ? nil : TraceID(high: 7, low: UInt64(trace)), spanID: SpanID(UInt64(n + 1))))
        }
        for (index, first) in stride(from: 0, to: records.count, by: batch).enumerated() {
            let chunk = Array(records[first..<min(first + batch, records.count)])
            _ = try store.ingest(.logs([ResourceLogs(resource: Resource(serviceName: index % 2 == 0 ? "a" : "b"), scopes: [ScopeLogs(records: chunk)])]), batchID: nil)
        }
        func service(_ record: LogRecord) -> String { n(for: record) / Int64(batch) % 2 == 0 ? "a" : "b" }
        func n(_ log: QueryAPI.Log) -> Int64 { if case .int(let value)? = log.attributes["n"] { return value }; return -1 }
        func expected(_ predicate: (LogRecord) -> Bool, newestFirst: Bool = false, limit: Int = 1000) -> [Int64] {
            let sorted = records.enumerated().filter { predicate($0.element) }
                .sorted { ($0.element.timeUnixNano, $0.offset) < ($1.element.timeUnixNano, $1.offset) }
            return (newestFirst ? sorted.reversed() : sorted).prefix(limit).map { n(for: $0.element) }
        }
        func n(for record: LogRecord) -> Int64 { if case .int(let value)? = record.attributes["n"] { return value }; return -1 }
        for trace in [0, 1, 2, 7, 398] {
            let traceID = TraceID(high: 7, low: UInt64(trace))
            #expect(try store.logs(LogQuery(traceID: traceID)).logs.map(n) == expected { $0.traceID == traceID })
            #expect(try store.logs(LogQuery(correlationID: "req-\(trace)")).logs.map(n) == expected { PartitionWriter.correlationID($0.attributes) == "req-\(trace)" })
            var filtered = LogQuery(traceID: traceID, minSeverity: 13, contains: "failed", startUnixNano: base + 20_000 * 1_000_000_000, limit: 3)
            filtered.newestFirst = true
            #expect(try store.logs(filtered).logs.map(n) == expected({
                $0.traceID == traceID && $0.severityNumber.rawValue >= 13 && $0.body.text.contains("failed") && $0.timeUnixNano >= base + 20_000 * 1_000_000_000
            }, newestFirst: true, limit: 3))
        }
        #expect(try store.logs(LogQuery(correlationID: "req-none")).logs.isEmpty)
        // Without a key every block is a candidate: the search keeps the best records in order
        // across blocks whose times overlap, and stops early only where no later block can hold one.
        #expect(try store.logs(LogQuery(service: "a", limit: 50)).logs.map(n) == expected({ service($0) == "a" }, limit: 50))
        var severe = LogQuery(minSeverity: 17, limit: 37)
        severe.newestFirst = true
        #expect(try store.logs(severe).logs.map(n) == expected({ $0.severityNumber.rawValue >= 17 }, newestFirst: true, limit: 37))
        let window = (base + 30_000 * 1_000_000_000)...(base + 40_000 * 1_000_000_000)
        #expect(try store.logs(LogQuery(contains: "failed 1", startUnixNano: window.lowerBound, endUnixNano: window.upperBound, limit: 5000)).logs.map(n)
            == expected({ $0.body.text.contains("failed 1") && window.contains($0.timeUnixNano) }, limit: 5000))
        #expect(try store.logs(LogQuery(limit: 1)).logs.map(n) == expected({ _ in true }, limit: 1))
        #expect(try store.logs(LogQuery(limit: 100_000)).logs.count == records.count)
    }

    @Test("a log search cut by its read budget answers the part it searched whole, and resuming from its bound reads the rest once")
    func readBudget() throws {
        let store = try SQLiteStore(directory: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var generator = SeededGenerator(seed: 12)
        let base = StoreModelTests.dayA
        var records = [LogRecord]()
        // Two days of records in blocks of 20 whose time ranges overlap their neighbours' (each
        // record within 15 minutes of its place), and every 25th block a backfill spanning both days.
        for n in 0..<6_000 {
            let wide = n / 20 % 25 == 24
            let second = wide ? UInt64.random(in: 0..<(2 * 86_400), using: &generator) : UInt64(n) * 28 + UInt64.random(in: 0..<900, using: &generator)
            records.append(LogRecord(
                timeUnixNano: base + second * 1_000_000_000,
                severityNumber: .info, body: .string(n % 7 == 0 ? "failed \(n)" : "ok \(n)"), attributes: [Attribute("n", .int(Int64(n)))]))
        }
        for first in stride(from: 0, to: records.count, by: 20) {
            _ = try store.ingest(.logs([ResourceLogs(resource: Resource(serviceName: "a"), scopes: [ScopeLogs(records: Array(records[first..<(first + 20)]))])]), batchID: nil)
        }
        func n(_ log: QueryAPI.Log) -> Int64 { if case .int(let value)? = log.attributes["n"] { return value }; return -1 }
        func expected(_ text: String, newestFirst: Bool, in range: ClosedRange<UInt64>) -> [Int64] {
            let sorted = records.enumerated()
                .filter { $0.element.body.text.contains(text) && range.contains($0.element.timeUnixNano) }
                .sorted { ($0.element.timeUnixNano, $0.offset) < ($1.element.timeUnixNano, $1.offset) }
                .map { Int64($0.offset) }
            return newestFirst ? sorted.reversed() : sorted
        }
        for (text, newestFirst) in [("failed", true), ("failed", false), ("no such text", true), ("no such text", false)] {
            var query = LogQuery(contains: text, limit: 100_000)
            query.newestFirst = newestFirst
            query.readBudget = 700
            var answered = [Int64]()
            var rounds = 0
            while rounds < 1_000 {
                rounds += 1
                let answer = try store.logs(query)
                let range = query.startUnixNano...query.endUnixNano
                guard answer.truncated else {
                    #expect(answer.resumeUnixNano == nil)
                    #expect(answer.logs.map(n) == expected(text, newestFirst: newestFirst, in: range))
                    answered += answer.logs.map(n)
                    break
                }
                let resume = try #require(answer.resumeUnixNano)
                #expect(range.contains(resume))
                // Every match beyond the bound, in order, and only those.
                let whole = newestFirst ? (resume == .max ? nil : (resume + 1)...range.upperBound) : (resume == 0 ? nil : range.lowerBound...(resume - 1))
                #expect(answer.logs.map(n) == whole.map { expected(text, newestFirst: newestFirst, in: $0) } ?? [])
                answered += answer.logs.map(n)
                if newestFirst {
                    #expect(resume < query.endUnixNano, "each round moves on")
                    query.endUnixNano = resume
                } else {
                    #expect(resume > query.startUnixNano, "each round moves on")
                    query.startUnixNano = resume
                }
            }
            #expect(rounds > 10, "the budget cut the search (\(text), newest first: \(newestFirst))")
            // 300 blocks of 64 at 700 a round, the wide blocks spanning each bound paid from their own allowance.
            #expect(rounds < 60, "each round moves on by about a budget's worth of blocks: \(rounds) rounds")
            #expect(answered == expected(text, newestFirst: newestFirst, in: 0...UInt64.max), "every match once, none skipped")
        }
        // The default budget reads this store whole.
        #expect(!(try store.logs(LogQuery(contains: "no such text")).truncated))
        // A full answer is not cut, however small the budget left.
        var first = LogQuery(contains: "failed", limit: 3)
        first.newestFirst = true
        first.readBudget = 1
        let answer = try store.logs(first)
        #expect(answer.logs.count <= 3)
        #expect(answer.truncated == (answer.logs.count < 3))

        // Every block spanning its whole day: no bound short of the range's edge leaves anything
        // whole until every block is read, which a second budget stops short of.
        let wide = LogRecord(timeUnixNano: base + 86_400 * 1_000_000_000 - 1, severityNumber: .info, body: .string("edge"))
        for first in stride(from: 0, to: 40 * 20, by: 20) {
            var batch = Array(records[first..<(first + 20)])
            batch[0].timeUnixNano = base
            batch[19] = wide
            _ = try store.ingest(.logs([ResourceLogs(resource: Resource(serviceName: "wide"), scopes: [ScopeLogs(records: batch)])]), batchID: nil)
        }
        var spanning = LogQuery(service: "wide", contains: "no such text", endUnixNano: wide.timeUnixNano)
        spanning.newestFirst = true
        spanning.readBudget = 100
        let stuck = try store.logs(spanning)
        #expect(stuck.truncated && stuck.logs.isEmpty)
        #expect(stuck.resumeUnixNano == wide.timeUnixNano, "nothing could be searched whole")
        spanning.readBudget = 40 * LogBlockSearch.leastBlockCost / 2
        let whole = try store.logs(spanning)
        #expect(whole.truncated == false, "twice the budget reads the 40 blocks")
    }
}
