import Foundation
@testable import PeriscopeCollector
import PeriscopeModel
import PeriscopeTesting
import Testing

@Suite("Golden signals")
struct GoldenSignalsTests {
    static let base: UInt64 = 20_200 * 86_400 * 1_000_000_000 + 5 * 3600 * 1_000_000_000
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("signals-\(UUID().uuidString)").path

    /// 2,000 server spans over 20 minutes with seeded log-normal-ish durations: every 20th
    /// fails with HTTP 503, every 50th with an exception; plus client spans that are not requests.
    static func traffic() -> [(service: String, span: Span)] {
        var generator = SeededGenerator(seed: 42)
        var out = [(String, Span)]()
        for i in 0..<2000 {
            let start = base + UInt64(i) * 600_000_000
            let duration = UInt64(1_000_000 * exp(Double.random(in: 0...6, using: &generator)))
            let operation = i % 3 == 0 ? "GET /cart" : "POST /checkout"
            var span = Span(
                traceID: TraceID(high: 1, low: UInt64(i + 1)), spanID: SpanID(UInt64(i + 1)), name: operation, kind: i % 10 == 9 ? .consumer : .server,
                startTimeUnixNano: start, endTimeUnixNano: start + duration,
                attributes: [Attribute("http.response.status_code", .int(i % 20 == 0 ? 503 : 200))])
            if i % 50 == 7 {
                span.status = Span.Status(code: .error, message: "boom")
                span.events = [Span.Event(timeUnixNano: start, name: "exception", attributes: [Attribute("exception.type", .string("CartError"))])]
            }
            out.append(("checkout", span))
            let client = Span(traceID: span.traceID, spanID: SpanID(UInt64(100_000 + i)), parentSpanID: span.spanID, name: "GET /inventory",
                              kind: .client, startTimeUnixNano: start, endTimeUnixNano: start + 1000)
            out.append(("checkout", client))
        }
        return out
    }

    func ingest(_ store: any TelemetryStore, _ traffic: [(service: String, span: Span)]) throws {
        for (index, chunk) in stride(from: 0, to: traffic.count, by: 500).enumerated() {
            let spans = traffic[chunk..<min(chunk + 500, traffic.count)].map(\.span)
            _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "checkout"), scopes: [ScopeSpans(spans: spans)])]), batchID: "s\(index)")
        }
    }

    /// The nearest-rank statistic: the smallest sample that at least a share `q` of the samples do not exceed.
    static func exactQuantile(_ sorted: [UInt64], _ q: Double) -> Double {
        let index = sorted.indices.first { Double($0 + 1) >= q * Double(sorted.count) - 1e-9 } ?? sorted.count - 1
        return Double(sorted[index])
    }

    func exactQuantile(_ sorted: [UInt64], _ q: Double) -> Double { Self.exactQuantile(sorted, q) }

    @Test("traffic, errors by type and latency percentiles match the raw spans (within 1 %)", arguments: StoreBackend.allCases)
    func matchesRawSpans(_ backend: StoreBackend) throws {
        let store = try backend.make(directory)
        let traffic = Self.traffic()
        try ingest(store, traffic)
        let start = Self.base
        let end = Self.base + 20 * 60_000_000_000
        let signals = try store.goldenSignals(SignalsQuery(startUnixNano: start, endUnixNano: end))
        let row = try #require(signals.rows.first)
        #expect(signals.rows.count == 1 && row.service == "checkout" && row.operation == nil)

        let requests = traffic.map(\.span).filter { $0.kind == .server || $0.kind == .consumer }
        func failed(_ span: Span) -> Bool {
            span.status.code == .error || (span.kind == .server && span.attributes["http.response.status_code"] == .int(503))
        }
        let failures = requests.filter(failed)
        #expect(row.requests == requests.count)
        #expect(row.errors == failures.count)
        #expect(abs(row.requestsPerSecond - Double(requests.count) / 1200) < 1e-9)
        #expect(abs(row.errorRatio - Double(failures.count) / Double(requests.count)) < 1e-12)
        var expectedTypes = [String: Int]()
        for span in failures {
            let type = span.kind == .server && span.attributes["http.response.status_code"] == .int(503) ? "503" : "CartError"
            expectedTypes[type, default: 0] += 1
        }
        #expect(row.errorTypes == expectedTypes)
        #expect(row.series.reduce(0, +) == requests.count)
        #expect(row.errorSeries.count == row.series.count && row.errorSeries.reduce(0, +) == failures.count)

        let ok = requests.filter { !failed($0) }.map(\.durationNanos).sorted()
        let bad = failures.map(\.durationNanos).sorted()
        let latency = try #require(row.latency)
        let failureLatency = try #require(row.failureLatency)
        for (q, value) in [(0.5, latency.p50), (0.9, latency.p90), (0.99, latency.p99), (0.999, latency.p999)] {
            let exact = exactQuantile(ok, q)
            #expect(abs(value - exact) / exact <= 0.01, "ok p\(q * 100): \(value) vs \(exact)")
        }
        for (q, value) in [(0.5, failureLatency.p50), (0.99, failureLatency.p99)] {
            let exact = exactQuantile(bad, q)
            #expect(abs(value - exact) / exact <= 0.01, "failed p\(q * 100): \(value) vs \(exact)")
        }

        let byOperation = try store.goldenSignals(SignalsQuery(byOperation: true, startUnixNano: start, endUnixNano: end))
        #expect(byOperation.rows.map(\.operation) == ["GET /cart", "POST /checkout"])
        #expect(byOperation.rows.map(\.requests) == [
            requests.filter { $0.name == "GET /cart" }.count, requests.filter { $0.name == "POST /checkout" }.count,
        ])
        // A sub-range reads only its minutes.
        let firstFive = try store.goldenSignals(SignalsQuery(startUnixNano: start, endUnixNano: start + 5 * 60_000_000_000))
        #expect(firstFive.rows.first?.requests == requests.filter { $0.startTimeUnixNano < start + 5 * 60_000_000_000 }.count)
        // Ranges that miss the stored days: nothing, over the range asked (not a minute of the first or last stored day).
        let day = PartitionDay.nanosPerDay
        for (from, to) in [(start - 40 * day, start - 39 * day), (start + 40 * day, start + 41 * day)] {
            let outside = try store.goldenSignals(SignalsQuery(startUnixNano: from, endUnixNano: to))
            #expect(outside.rows.isEmpty, "\(outside.rows)")
            #expect(outside.startTimeUnixNano == from / 60_000_000_000 * 60_000_000_000 && outside.endTimeUnixNano >= to)
        }
    }

    @Test("names that differ only after a U+0000 (valid UTF-8 any client may send) stay apart: signals, services and search keep answering", arguments: StoreBackend.allCases)
    func namesWithNUL(_ backend: StoreBackend) throws {
        let store = try backend.make(directory)
        var index: UInt64 = 0
        for service in ["b", "b\u{0}x"] {
            for operation in ["op", "op\u{0}x", "\u{0}"] {
                index += 1
                let start = Self.base + index * 1_000_000_000
                let span = Span(traceID: TraceID(high: 7, low: index), spanID: SpanID(index), name: operation, kind: .server,
                                startTimeUnixNano: start, endTimeUnixNano: start + 1_000_000)
                _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: service), scopes: [ScopeSpans(spans: [span])])]), batchID: "nul-\(index)")
            }
        }
        // PostgreSQL's text holds no U+0000: its store writes U+FFFD in its place.
        func stored(_ name: String) -> String { backend == .postgres ? name.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : name }
        let range = (start: Self.base, end: Self.base + 60_000_000_000)
        let signals = try store.goldenSignals(SignalsQuery(byOperation: true, startUnixNano: range.start, endUnixNano: range.end))
        #expect(Set(signals.rows.map { "\($0.service)|\($0.operation ?? "-")" }) == Set([
            "b|op", "b|op\u{0}x", "b|\u{0}", "b\u{0}x|op", "b\u{0}x|op\u{0}x", "b\u{0}x|\u{0}",
        ].map(stored)))
        #expect(signals.rows.allSatisfy { $0.requests == 1 })
        #expect(Set(try store.services().map(\.name)).isSuperset(of: ["b", stored("b\u{0}x")]))
        let found = try store.searchTraces(TraceQuery(service: "b\u{0}x", startUnixNano: range.start, endUnixNano: range.end)).traces
        #expect(found.count == 3)
        // A second round of the same names, after the first is flushed, is counted where the first was.
        let start = Self.base + 30_000_000_000
        let again = Span(traceID: TraceID(high: 8, low: 1), spanID: SpanID(99), name: "op\u{0}x", kind: .server,
                         startTimeUnixNano: start, endTimeUnixNano: start + 1_000_000)
        _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "b\u{0}x"), scopes: [ScopeSpans(spans: [again])])]), batchID: "nul-again")
        let after = try store.goldenSignals(SignalsQuery(byOperation: true, startUnixNano: range.start, endUnixNano: range.end))
        #expect(after.rows.first { $0.service == stored("b\u{0}x") && $0.operation == stored("op\u{0}x") }?.requests == 2)
        #expect(after.rows.count == 6)
    }

    /// Two weeks of sparse traffic out of time order: 3 services × 4 operations (one unnamed),
    /// a request every 37 minutes per operation with seeded durations; every 13th fails with
    /// HTTP 500, every 26th (from the first) with an exception.
    static func weeks() -> [(service: String, span: Span)] {
        var generator = SeededGenerator(seed: 9)
        var out = [(service: String, span: Span)]()
        let day: UInt64 = 86_400_000_000_000
        for service in ["api", "cart", "pay"] {
            for operation in ["GET /a", "GET /b", "POST /c", ""] {
                var start = base - 13 * day + UInt64.random(in: 0..<2_220_000_000_000, using: &generator)
                while start < base + day {
                    let n = out.count + 1
                    let duration = UInt64(1_000_000 * exp(Double.random(in: 0...5, using: &generator)))
                    var span = Span(
                        traceID: TraceID(high: 2, low: UInt64(n)), spanID: SpanID(UInt64(n)), name: operation, kind: .server,
                        startTimeUnixNano: start, endTimeUnixNano: start + duration,
                        attributes: [Attribute("http.response.status_code", .int(n % 13 == 0 ? 500 : 200))])
                    if n % 26 == 1 {
                        span.status = Span.Status(code: .error, message: "boom")
                        span.events = [Span.Event(timeUnixNano: start, name: "exception", attributes: [Attribute("exception.type", .string("PayError"))])]
                    }
                    out.append((service, span))
                    start += 37 * 60_000_000_000
                }
            }
        }
        return out.shuffled(using: &generator)
    }

    /// Checks every row of `query` against the raw spans: counts, error types, percentiles
    /// (within 1 %) and the sparkline step by step.
    func expectMatches(_ query: SignalsQuery, _ traffic: [(service: String, span: Span)], store: any TelemetryStore) throws {
        let signals = try store.goldenSignals(query)
        let step = UInt64(signals.seriesStepSeconds) * 1_000_000_000
        let firstStep = query.startUnixNano / step * step
        var expected = [String: [Span]]()
        for (service, span) in traffic where (query.startUnixNano..<query.endUnixNano).contains(span.startTimeUnixNano) {
            guard query.service == nil || query.service == service else { continue }
            if query.byOperation && span.name.isEmpty { continue }
            expected[query.byOperation ? service + " " + span.name : service, default: []].append(span)
        }
        #expect(signals.rows.map { $0.service + ($0.operation.map { " " + $0 } ?? "") } == expected.keys.sorted())
        for row in signals.rows {
            let spans = expected[row.service + (row.operation.map { " " + $0 } ?? ""), default: []]
            let failed = spans.filter { $0.status.code == .error || $0.attributes["http.response.status_code"] == .int(500) }
            #expect(row.requests == spans.count && row.errors == failed.count)
            var types = [String: Int]()
            for span in failed { types[span.status.code == .error ? "PayError" : "500", default: 0] += 1 }
            #expect(row.errorTypes == types)
            var series = [Int](repeating: 0, count: row.series.count)
            for span in spans { series[Int((span.startTimeUnixNano - firstStep) / step)] += 1 }
            #expect(row.series == series, "\(row.service) \(row.operation ?? "")")
            var errorSeries = [Int](repeating: 0, count: row.series.count)
            for span in failed { errorSeries[Int((span.startTimeUnixNano - firstStep) / step)] += 1 }
            #expect(row.errorSeries == errorSeries, "failures step by step: \(row.service) \(row.operation ?? "")")
            let ok = spans.filter { span in !failed.contains { $0.spanID == span.spanID } }.map(\.durationNanos).sorted()
            for (sorted, percentiles) in [(ok, row.latency), (failed.map(\.durationNanos).sorted(), row.failureLatency)] {
                let percentiles = try #require(percentiles)
                for (q, value) in [(0.5, percentiles.p50), (0.9, percentiles.p90), (0.99, percentiles.p99), (0.999, percentiles.p999)] {
                    let exact = exactQuantile(sorted, q)
                    #expect(abs(value - exact) / exact <= 0.01, "p\(q * 100): \(value) vs \(exact)")
                }
            }
        }
    }

    @Test("over days, hours and minutes, per service and per operation, every figure matches the raw spans", arguments: [
        (-12 * 1440 + 17, 7 * 60 + 3),  // 12 days: day steps, read from day, hour and minute buckets
        (-2 * 1440 - 5 * 60 - 13, -61),  // 2 days: hour steps
        (-7 * 60 + 1, -7),  // 7 hours: minute steps
    ])
    func matchesRawSpansOverDays(startMinute: Int, endMinute: Int) throws {
        for backend in StoreBackend.allCases { try matchesRawSpansOverDays(backend, startMinute: startMinute, endMinute: endMinute) }
    }

    func matchesRawSpansOverDays(_ backend: StoreBackend, startMinute: Int, endMinute: Int) throws {
        let store = try backend.make(directory + "-\(backend)")
        let traffic = Self.weeks()
        for (index, chunk) in stride(from: 0, to: traffic.count, by: 500).enumerated() {
            let batch = traffic[chunk..<min(chunk + 500, traffic.count)]
            let groups = Dictionary(grouping: batch, by: \.service).map { service, spans in
                ResourceSpans(resource: Resource(serviceName: service), scopes: [ScopeSpans(spans: spans.map(\.span))])
            }
            _ = try store.ingest(.traces(groups), batchID: "w\(index)")
            if index % 4 == 3 { try store.flushRollups() }  // buckets merged with what they already hold
        }
        func minute(_ offset: Int) -> UInt64 { UInt64(Int64(Self.base) + Int64(offset) * 60_000_000_000) }
        for byOperation in [false, true] {
            for service in [nil, "cart"] {
                try expectMatches(
                    SignalsQuery(service: service, byOperation: byOperation, startUnixNano: minute(startMinute), endUnixNano: minute(endMinute)),
                    traffic, store: store)
            }
        }
    }

    @Test("a damaged bucket does not fail a question, and the next flush writes a readable one")
    func damagedBucket() throws {
        let store = try SQLiteStore(directory: directory)
        let traffic = Self.traffic()
        try ingest(store, Array(traffic.prefix(200)))
        try store.flushRollups()
        let minute = Int64(Self.base / 1_000_000_000)
        try store.allPartitions[0].writer.withLock { database in
            try database.execute("UPDATE request_rollups SET aggregates = x'0361706900000009' WHERE resolution = 60 AND bucket = \(minute)")
        }
        let range = SignalsQuery(startUnixNano: Self.base, endUnixNano: Self.base + 60_000_000_000)
        _ = try store.goldenSignals(range)
        let later = traffic.filter { (Self.base..<(Self.base + 60_000_000_000)).contains($0.span.startTimeUnixNano) }
            .map { service, span in
                var span = span
                span.spanID = SpanID(span.spanID.value + 1_000_000)
                return (service: service, span: span)
            }
        _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "checkout"), scopes: [ScopeSpans(spans: later.map(\.span))])]), batchID: "again")
        let requests = later.filter { RequestClassification.isRequest($0.span.kind) }.count
        #expect(try store.goldenSignals(range).rows.first?.requests == requests, "the damaged counts are replaced by the new ones")
    }

    @Test("buckets number names once per partition; a question reads names numbered after its last one")
    func numberedNames() throws {
        let store = try SQLiteStore(directory: directory)
        let traffic = Self.traffic()
        try ingest(store, Array(traffic.prefix(400)))
        let range = SignalsQuery(byOperation: true, startUnixNano: Self.base, endUnixNano: Self.base + 20 * 60_000_000_000)
        let before = try store.goldenSignals(range).rows.map { "\($0.service) \($0.operation ?? "")" }
        #expect(before == ["checkout GET /cart", "checkout POST /checkout"])
        let later = (0..<30).map { (i: Int) -> Span in
            let start = Self.base + UInt64(i) * 1_000_000_000
            let name = i % 2 == 0 ? "charge" : "refund"
            return Span(traceID: TraceID(high: 2, low: UInt64(i + 1)), spanID: SpanID(UInt64(500_000 + i)), name: name, kind: .server,
                        startTimeUnixNano: start, endTimeUnixNano: start + 5_000_000)
        }
        _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "payments"), scopes: [ScopeSpans(spans: later)])]), batchID: "payments")
        let after = try store.goldenSignals(range).rows
        #expect(after.map { "\($0.service) \($0.operation ?? "")" } == before + ["payments charge", "payments refund"])
        #expect(after.last?.requests == 15)
        let perService = try store.goldenSignals(SignalsQuery(service: "payments", startUnixNano: range.startUnixNano, endUnixNano: range.endUnixNano)).rows
        #expect(perService.map(\.requests) == [30])
        let names = try store.allPartitions[0].writer.withLock { database -> [String] in
            let statement = try database.statement("SELECT name FROM rollup_names ORDER BY id")
            var names = [String]()
            while try statement.step() { names.append(statement.string(0)) }
            return names
        }
        // The first flush numbers its names in name order; later ones add theirs after them.
        #expect(names == ["GET /cart", "POST /checkout", "checkout", "charge", "payments", "refund"])
    }

    @Test("the span blocks are the rollups' journal: a restart before the flush loses nothing, and flushing twice counts once")
    func rollupsSurviveRestart() throws {
        let traffic = Self.traffic()
        let requests = traffic.filter { $0.span.kind == .server || $0.span.kind == .consumer }.count
        let range = SignalsQuery(startUnixNano: Self.base, endUnixNano: Self.base + 20 * 60_000_000_000)
        do {
            let store = try SQLiteStore(directory: directory)
            try ingest(store, traffic)
            let partition = store.allPartitions[0]
            let counts = try partition.writer.withLock { database in
                try ["request_rollups", "rollup_journal"].map { try database.integer("SELECT count(*) FROM \($0)") }
                    + [database.integer("SELECT span_block FROM rollup_progress")]
            }
            #expect(counts == [0, 0, 0], "nothing merged before a flush, and span batches write no journal rows")
            let kept = partition.spanDeltas.withLock { $0 }
            #expect(kept.isComplete && kept.deltas.count == (traffic.count + 499) / 500, "a new partition keeps every batch's deltas")
        }
        // The "crashed" store is gone without a flush; a new one merges the unmerged blocks on first read.
        let reopened = try SQLiteStore(directory: directory)
        #expect(reopened.allPartitions[0].spanDeltas.withLock { $0.isComplete } == false)
        #expect(try reopened.goldenSignals(range).rows.first?.requests == requests)
        try reopened.flushRollups()
        try reopened.flushRollups()
        #expect(try reopened.goldenSignals(range).rows.first?.requests == requests)
        let progress = try reopened.allPartitions[0].writer.withLock { database in
            try [database.integer("SELECT span_block FROM rollup_progress"), database.integer("SELECT max(id) FROM span_blocks")]
        }
        #expect(progress[0] == progress[1] && progress[0] > 0, "the last block is recorded as merged")
        // Later batches are kept in memory again, and merged once.
        let later = traffic.prefix(100).map { _, span in
            var span = span
            span.spanID = SpanID(span.spanID.value + 1_000_000)
            return span
        }
        _ = try reopened.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "checkout"), scopes: [ScopeSpans(spans: later)])]), batchID: "later")
        #expect(reopened.allPartitions[0].spanDeltas.withLock { $0.isComplete && $0.deltas.count == 1 })
        let laterRequests = later.filter { RequestClassification.isRequest($0.kind) }.count
        #expect(try reopened.goldenSignals(range).rows.first?.requests == requests + laterRequests)
        #expect(try reopened.goldenSignals(range).rows.first?.requests == requests + laterRequests)
    }

    @Test("past their limit, kept deltas are dropped and left to the blocks until the next flush")
    func keptDeltasLimit() throws {
        let traffic = Self.traffic()
        let stored = StoredSpans(services: ["checkout"], spans: traffic.map { BlockSpan(resource: 0, span: $0.span) })
        let deltas = RollupDeltas(spans: stored, objectives: [])
        var pending = PendingSpanDeltas(isComplete: true, limit: 2 * deltas.requests.count)
        pending.add(deltas)
        pending.add(RollupDeltas())
        pending.add(deltas)
        #expect(pending.isComplete && pending.deltas.count == 2, "empty deltas are not kept")
        pending.add(deltas)
        #expect(!pending.isComplete && pending.deltas.isEmpty)
        pending.add(deltas)
        #expect(!pending.isComplete && pending.deltas.isEmpty, "once incomplete, nothing more is kept")
    }

    @Test("buckets from the deltas kept in memory are the buckets read back from the blocks, flushed at once or in parts")
    func flushInParts() throws {
        let objective = ServiceLevelObjective(name: "fast", service: "checkout", indicator: .latency(thresholdNanos: 20_000_000), objective: 99)
        var contents = [[String]]()
        for (requestsPerWrite, fromBlocks) in [(1_000_000, false), (7, true), (1_000_000, true)] {
            let store = try SQLiteStore(directory: directory + "-\(requestsPerWrite)-\(fromBlocks)", objectives: [objective])
            try ingest(store, Self.traffic())
            let partition = store.allPartitions[0]
            let kept = partition.spanDeltas.withLock { $0.deltas }
            #expect(!kept.isEmpty)
            contents.append(try partition.writer.withLock { database in
                _ = try database.transaction {
                    try RollupWriter(database: database, requestsPerWrite: requestsPerWrite).flush(spanDeltas: fromBlocks ? nil : kept, objectives: [objective])
                }
                var rows = [String]()
                for table in ["request_rollups", "slo_rollups"] {
                    let statement = try database.statement("SELECT resolution, bucket, hex(\(table == "slo_rollups" ? "counts" : "aggregates")) FROM \(table) ORDER BY 1, 2")
                    while try statement.step() { rows.append("\(table) \(statement.int(0)) \(statement.int(1)) \(statement.string(2))") }
                }
                return rows
            })
        }
        #expect(contents[0].count > 20)
        #expect(contents[0] == contents[1])
        #expect(contents[0] == contents[2])
    }

    @Test("journal entries round-trip; a damaged one is refused, not misread")
    func journalEncoding() throws {
        let objective = ServiceLevelObjective(name: "fast", service: "checkout", indicator: .latency(thresholdNanos: 20_000_000), objective: 99)
        let traffic = Self.traffic()
        let stored = StoredSpans(services: traffic.map(\.service), spans: traffic.indices.map { BlockSpan(resource: $0, span: traffic[$0].span) })
        let deltas = RollupDeltas(spans: stored, objectives: [objective])
        #expect(!deltas.requests.isEmpty && !deltas.slo.isEmpty)
        #expect(deltas.requests.count == traffic.filter { RequestClassification.isRequest($0.span.kind) }.count)
        #expect(try RollupDeltas(encoded: deltas.encoded) == deltas)
        let bytes = deltas.encoded
        for cut in [1, bytes.count / 3, bytes.count - 1] {
            #expect(throws: DamagedRollupData.self) { try RollupDeltas(encoded: Array(bytes.prefix(cut))) }
        }
        #expect(throws: DamagedRollupData.self) { try RollupDeltas(encoded: bytes + [0]) }
    }

    @Test("the HTTP status is read from either key, as a number or text; anything else is no status")
    func httpStatus() {
        let cases: [([Attribute], Int?)] = [
            ([Attribute("http.response.status_code", .string("503"))], 503),
            ([Attribute("http.response.status_code", .string("+503"))], 503),
            ([Attribute("http.response.status_code", .string("5x3"))], nil),
            ([Attribute("http.response.status_code", .string(""))], nil),
            ([Attribute("http.response.status_code", .string("99999999999"))], 99_999_999_999),
            ([Attribute("http.response.status_code", .int(200))], 200),
            ([Attribute("http.response.status_code", .double(.nan))], nil),
            ([Attribute("http.response.status_code", .bool(true))], nil),
            ([Attribute("http.route", .string("/a")), Attribute("http.status_code", .string("500"))], 500),
            ([Attribute("http.status_code", .int(500)), Attribute("http.response.status_code", .int(404))], 404),
        ]
        for (attributes, expected) in cases {
            #expect(RequestClassification.httpStatus(attributes) == expected, "\(attributes)")
        }
    }

    @Test("saturation is the highest recent utilisation gauge of the service", arguments: StoreBackend.allCases)
    func saturation(_ backend: StoreBackend) throws {
        let store = try backend.make(directory)
        try ingest(store, Array(Self.traffic().prefix(10)))
        _ = try store.ingest(.metrics([ResourceMetrics(resource: Resource(serviceName: "checkout"), scopes: [ScopeMetrics(metrics: [
            Metric(name: "process.cpu.utilization", data: .gauge([NumberPoint(timeUnixNano: Self.base + 1, value: .double(0.9)), NumberPoint(timeUnixNano: Self.base + 2, value: .double(0.35))])),
            Metric(name: "system.memory.utilization", data: .gauge([NumberPoint(timeUnixNano: Self.base + 2, value: .double(0.6))])),
        ])])]), batchID: "m")
        let signals = try store.goldenSignals(SignalsQuery(startUnixNano: Self.base, endUnixNano: Self.base + 60_000_000_000))
        #expect(signals.rows.first?.saturation == 0.6, "latest CPU 0.35, latest memory 0.6")
        // Over a day, only the range's last hour is looked through: the points above are 2 h before its end.
        let day = try store.goldenSignals(SignalsQuery(startUnixNano: Self.base - 22 * 3_600_000_000_000, endUnixNano: Self.base + 2 * 3_600_000_000_000))
        #expect(day.rows.first?.requests ?? 0 > 0)
        #expect(day.rows.first?.saturation == nil)
        let lastHour = try store.goldenSignals(SignalsQuery(startUnixNano: Self.base - 22 * 3_600_000_000_000, endUnixNano: Self.base + 3_000_000_000_000))
        #expect(lastHour.rows.first?.saturation == 0.6)
    }
}

@Suite("Latency sketch and rollup resolutions")
struct LatencySketchTests {
    @Test("every quantile within 1 % of the exact order statistic; merging equals adding")
    func accuracy() throws {
        var generator = SeededGenerator(seed: 7)
        var values = [UInt64]()
        var sketch = LatencySketch()
        var left = LatencySketch()
        var right = LatencySketch()
        for index in 0..<20_000 {
            let value = UInt64(exp(Double.random(in: 0...20, using: &generator)))
            values.append(value)
            sketch.add(value)
            if index % 2 == 0 { left.add(value) } else { right.add(value) }
        }
        values.sort()
        for q in [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0] {
            let exact = GoldenSignalsTests.exactQuantile(values, q)
            let estimate = sketch.quantile(q) ?? -1
            #expect(exact == 0 ? estimate == 0 : abs(estimate - exact) / exact <= 0.01, "q\(q): \(estimate) vs \(exact)")
        }
        let leftAlone = left
        left.merge(right)
        #expect(left == sketch)
        #expect(try LatencySketch(encoded: sketch.encoded) == sketch)
        var fromBytes = LatencySketch()
        for half in [leftAlone, right] {
            try RollupByteReader.reading(half.encoded) { (bytes) throws(DamagedRollupData) in
                var reader = RollupByteReader(bytes)
                try fromBytes.merge(from: &reader)
            }
        }
        #expect(fromBytes == sketch, "merging encoded bytes equals merging sketches")
        #expect(fromBytes.count == 20_000)
        #expect(LatencySketch().quantile(0.5) == nil)
        let bytes = sketch.encoded
        for cut in [1, bytes.count / 2, bytes.count - 1] {
            #expect(throws: DamagedRollupData.self) { try LatencySketch(encoded: Array(bytes.prefix(cut))) }
        }
        #expect(throws: DamagedRollupData.self, "a bucket index no latency has") { try LatencySketch(encoded: [0, 1, 0x80, 0x80, 0x04, 1]) }
    }

    @Test("small samples: p99 is the slowest request once more than 1 % of requests took that long (nearest rank)")
    func nearestRank() {
        var sketch = LatencySketch()
        for _ in 0..<50 { sketch.add(10_000_000) }
        sketch.add(5_000_000_000)
        let values = sketch.quantiles([0.5, 0.9, 0.98, 0.99, 0.999]) ?? []
        #expect(values.count == 5)
        // 50 of 51 (98.04 %) took 10 ms: p98 is 10 ms; p99 and p99.9 are the 5 s one.
        for (value, exact) in zip(values, [10e6, 10e6, 10e6, 5e9, 5e9]) {
            #expect(abs(value - exact) / exact <= 0.01, "\(value) vs \(exact)")
        }
        var four = LatencySketch()
        for value: UInt64 in [0, 1, 1_000, 3_600_000_000_000] { four.add(value) }
        #expect(four.quantile(0.5).map { abs($0 - 1) <= 0.01 } == true, "the lower of the middle two")
        #expect(four.quantile(0.99).map { abs($0 - 3.6e12) / 3.6e12 <= 0.01 } == true)
        #expect(four.quantile(0) == 0)
    }

    @Test("a sketch written from bucket indices, sorted or counted, is the sketch built value by value")
    func sketchFromBuckets() throws {
        var generator = SeededGenerator(seed: 11)
        var counts = [UInt32]()
        var sorter = CountingSort()
        for (size, widest) in [(0, 18.0), (1, 18), (2, 18), (17, 18), (17, 0.7), (33, 0.7), (50, 18), (50, 0.5), (3000, 18), (3000, 2)] {
            let values = (0..<size).map { _ in
                Double.random(in: 0...1, using: &generator) < 0.05 ? 0 : UInt64(exp(14 + Double.random(in: 0...widest, using: &generator)))
            }
            var sketch = LatencySketch()
            for value in values { sketch.add(value) }
            var sorted = [UInt8]()
            values.map(LatencySketch.bucket).sorted().withUnsafeBufferPointer { LatencySketch.append(sortedBuckets: $0, to: &sorted) }
            #expect(sorted == sketch.encoded)
            #expect(try LatencySketch(encoded: sorted) == sketch)
            var counted = [UInt8]()
            var buckets = values.map(LatencySketch.bucket)
            buckets.withUnsafeMutableBufferPointer { LatencySketch.append(buckets: $0, counts: &counts, sorter: &sorter, to: &counted) }
            #expect(counted == sketch.encoded, "\(size) values over e^\(widest)")
        }
    }

    @Test("aggregates round-trip through their bytes, one request (compact) or many")
    func aggregateBytes() throws {
        var many = RequestAggregate()
        many.add(latencyBucket: LatencySketch.bucket(5_000_000), errorType: nil)
        many.add(latencyBucket: LatencySketch.bucket(0), errorType: "503")
        var cases = [RequestAggregate(), many]
        for (nanos, type) in [(UInt64(7_000), nil), (0, nil), (90_000_000, "CartError"), (0, "500")] as [(UInt64, String?)] {
            var single = RequestAggregate()
            single.add(latencyBucket: LatencySketch.bucket(nanos), errorType: type)
            cases.append(single)
        }
        for aggregate in cases {
            var bytes = [UInt8]()
            aggregate.append(to: &bytes)
            var read = RequestAggregate()
            try RollupByteReader.reading(bytes) { (raw) throws(DamagedRollupData) in
                var reader = RollupByteReader(raw)
                try read.merge(from: &reader)
                #expect(reader.isAtEnd)
            }
            #expect(read == aggregate)
            // Count, errors, a bucket of at most 3 varint bytes, and the error type with its length.
            let typeBytes = aggregate.errorTypes.first.map { $0.key.utf8.count + 1 } ?? 0
            #expect(aggregate.requests != 1 || bytes.count <= 2 + 3 + typeBytes, "one request in a few bytes")
        }
    }

    /// The names of the bucket tests, numbered by position (as `RollupNames` numbers them).
    private static let bucketNames = ["", "a", "b", "c", "d", "w", "x", "y", "z"]

    private static func number(_ name: String) -> Int { bucketNames.firstIndex(of: name)! }

    /// A bucket of sections, each (service, [(operation, aggregate)]), in the order given.
    private static func bucket(_ sections: [(String, [(String, RequestAggregate)])]) -> [UInt8] {
        var writer = RequestBucket.Writer()
        for (service, entries) in sections {
            writer.section(number(service))
            for (operation, aggregate) in entries { writer.entry(number(operation)) { aggregate.append(to: &$0) } }
        }
        return writer.finish()
    }

    /// Every (service, operation, aggregate) `RequestBucket.forEach` reads from `bytes`.
    private static func entries(_ bytes: [UInt8], _ wanted: RequestBucket.Entries) throws -> [String] {
        try RollupByteReader.reading(bytes) { (raw) throws(DamagedRollupData) in
            var read = [String]()
            try RequestBucket.forEach(in: raw, entries: wanted) { (service, operation, reader) throws(DamagedRollupData) in
                var aggregate = RequestAggregate()
                try aggregate.merge(from: &reader)
                func name(_ number: Int) -> String { bucketNames.indices.contains(number) ? bucketNames[number] : "#\(number)" }
                read.append("\(name(service))/\(name(operation)) \(aggregate.requests)r \(aggregate.errors)e")
            }
            return read
        }
    }

    @Test("a section of one operation stands for its service: readers see the service's entry, merges keep the form")
    func bucketSections() throws {
        func aggregate(_ nanos: [UInt64], errors: Int = 0) -> RequestAggregate {
            var aggregate = RequestAggregate()
            for (index, value) in nanos.enumerated() { aggregate.add(latencyBucket: LatencySketch.bucket(value), errorType: index < errors ? "500" : nil) }
            return aggregate
        }
        let one = aggregate([1_000_000]), two = aggregate([2_000_000, 3_000_000], errors: 1)
        var both = one
        both.merge(two)
        // The service's entry repeats its only operation's, so it is left out of the bytes.
        let sparse = Self.bucket([("a", [("", one), ("x", one)]), ("b", [("", both), ("x", one), ("y", two)])])
        #expect(sparse == Self.bucket([("a", [("x", one)]), ("b", [("", both), ("x", one), ("y", two)])]))
        #expect(try Self.entries(sparse, .services) == ["a/ 1r 0e", "b/ 3r 1e"])
        #expect(try Self.entries(sparse, .operations) == ["a/x 1r 0e", "b/x 1r 0e", "b/y 2r 1e"])
        #expect(try Self.entries(sparse, .all) == ["a/ 1r 0e", "a/x 1r 0e", "b/ 3r 1e", "b/x 1r 0e", "b/y 2r 1e"])
        // Unnamed requests count for the service alone: its entry differs, so it stays.
        let unnamed = Self.bucket([("a", [("", both), ("x", one)])])
        #expect(try Self.entries(unnamed, .all) == ["a/ 3r 1e", "a/x 1r 0e"])

        // Merging: the same lone operation stays alone; two operations get the service's entry back.
        let merged = try RollupByteReader.reading(Self.bucket([("a", [("x", two)])])) { (left) throws(DamagedRollupData) in
            try RollupByteReader.reading(sparse) { (right) throws(DamagedRollupData) in try RequestBucket.merge(left, right) }
        }
        var three = one
        three.merge(two)
        #expect(merged == Self.bucket([("a", [("x", three)]), ("b", [("", both), ("x", one), ("y", two)])]))
        let widened = try RollupByteReader.reading(Self.bucket([("a", [("y", two)])])) { (left) throws(DamagedRollupData) in
            try RollupByteReader.reading(sparse) { (right) throws(DamagedRollupData) in try RequestBucket.merge(left, right) }
        }
        #expect(try Self.entries(widened, .all) == ["a/ 3r 1e", "a/x 1r 0e", "a/y 2r 1e", "b/ 3r 1e", "b/x 1r 0e", "b/y 2r 1e"])

        // An operation's entry followed by another is not a bucket a writer makes: refused, not misread.
        var damaged = [UInt8]()
        for (name, entries) in [("a", [("x", one), ("y", one)])] {
            var section = [UInt8]()
            for (operation, aggregate) in entries {
                var bytes = [UInt8]()
                aggregate.append(to: &bytes)
                section += [UInt8(Self.number(operation)), UInt8(bytes.count)] + bytes
            }
            damaged += [UInt8(Self.number(name)), UInt8(section.count)] + section
        }
        #expect(throws: DamagedRollupData.self) { try Self.entries(damaged, .all) }
        // Lengths past 127 bytes take more than one varint byte.
        let large = aggregate((1...200).map { UInt64($0) * 1_000_000 }, errors: 3)
        let long = Self.bucket([("c", [("", large), ("z", large)]), ("d", [("", one), ("w", one)])])
        #expect(try Self.entries(long, .all) == ["c/ 200r 3e", "c/z 200r 3e", "d/ 1r 0e", "d/w 1r 0e"])
        // Cut or altered anywhere, a bucket reads in part or is refused as damaged, never misread past its end.
        for cut in 0..<long.count {
            if let read = try? Self.entries(Array(long.prefix(cut)), .all) { #expect(read.count < 4, "cut at \(cut)") }
        }
        var refused = 0
        for position in long.indices {
            var altered = long
            altered[position] ^= 0x5A
            if (try? Self.entries(altered, .all)) == nil { refused += 1 }
            // Merged with a good bucket, read back and compacted: never a trap (see StoredBytesFuzzTests).
            altered.withUnsafeBytes { StoredBytesFuzzing.checkRollupBucket($0) }
            if let merged = try? RollupByteReader.reading(altered, { (left) throws(DamagedRollupData) in
                try RollupByteReader.reading(long) { (right) throws(DamagedRollupData) in try RequestBucket.merge(left, right) }
            }) {
                merged.withUnsafeBytes { StoredBytesFuzzing.checkRollupBucket($0) }
            }
        }
        #expect(refused > 0, "some alterations are recognised as damage")
    }

    @Test("the index map finds what it stored, through growth, like a dictionary")
    func indexMap() {
        var generator = SeededGenerator(seed: 5)
        var map = IntegerMap<Int32>()
        var reference = [UInt64: Int32]()
        for step in 0..<20_000 {
            let key = step % 3 == 0 ? IntegerMap<Int32>.key(Int32(step % 97), Int32(step % 1013)) : generator.next() % 50_000
            let next = Int32(reference.count)
            let found = map.index(key, insertingIfAbsent: next)
            #expect(found == reference[key])
            if found == nil { reference[key] = next }
        }
        #expect(map.count == reference.count)
    }

    @Test("the counting sort orders like a stable comparison sort: few items, narrow and wide key ranges")
    func countingSort() {
        var generator = SeededGenerator(seed: 11)
        var sorter = CountingSort()
        for (count, range) in [(0, 10), (1, 10), (5, 3), (32, 1000), (33, 20), (500, 400), (500, 1_000_000), (3000, 60)] {
            let keys = (0..<count).map { _ in Int64(generator.next() % UInt64(range)) - Int64(range / 2) }
            var items = (0..<count).map { Int32($0) }
            items.withUnsafeMutableBufferPointer { buffer in
                sorter.sort(&buffer, span: 4 * count + 100) { keys[Int($0)] }
            }
            let stable = (0..<count).sorted { (keys[$0], $0) < (keys[$1], $1) }.map { Int32($0) }
            #expect(items == stable, "\(count) items, keys over \(range): equal keys keep their order")
        }
    }

    @Test("cover splits any range into contiguous minute, hour and day buckets, none coarser than asked")
    func cover() {
        let day: UInt64 = 86_400_000_000_000
        let cases: [(UInt64, UInt64)] = [
            (10 * day + 7 * 60_000_000_000, 10 * day + 13 * 60_000_000_000),
            (10 * day + 59 * 60_000_000_000, 10 * day + 3 * 3_600_000_000_000 + 120_000_000_000),
            (10 * day + 90 * 60_000_000_000, 40 * day + 5 * 3_600_000_000_000 + 300_000_000_000),
            (10 * day, 12 * day),
        ]
        for (start, end) in cases {
            for coarsest in Resolution.allCases {
                var cursor = Int64(start / 1_000_000_000)
                for (resolution, first, last) in Resolution.cover(startUnixNano: start, endUnixNano: end, coarsest: coarsest) {
                    #expect(first == cursor, "contiguous")
                    #expect(first % Int64(resolution.rawValue) == 0 && last >= first)
                    #expect(resolution.rawValue <= coarsest.rawValue)
                    cursor = last + Int64(resolution.rawValue)
                }
                #expect(cursor == Int64(end / 1_000_000_000))
            }
        }
        let month = Resolution.cover(startUnixNano: 10 * day + 61_000_000_000, endUnixNano: 40 * day + 3_700_000_000_000)
        #expect(month.count <= 5, "a month is a handful of ranges: \(month)")
    }
}
