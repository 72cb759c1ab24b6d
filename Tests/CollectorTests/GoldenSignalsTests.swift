import Foundation
@testable import PeriscopeCollector
import PeriscopeTelemetry
import Testing

@Suite("Golden signals")
struct GoldenSignalsTests {
    static let base: UInt64 = 20_200 * 86_400 * 1_000_000_000 + 5 * 3600 * 1_000_000_000
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("signals-\(UUID().uuidString)").path

    /// 2,000 server spans over 20 minutes with seeded log-normal-ish durations: every 20th
    /// fails with HTTP 503, every 50th with an exception; plus client spans that are not requests.
    static func traffic() -> [(service: String, span: Span)] {
        var generator = SplitMix(seed: 42)
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

    func ingest(_ store: TelemetryStore, _ traffic: [(service: String, span: Span)]) throws {
        for (index, chunk) in stride(from: 0, to: traffic.count, by: 500).enumerated() {
            let spans = traffic[chunk..<min(chunk + 500, traffic.count)].map(\.span)
            _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "checkout"), scopes: [ScopeSpans(spans: spans)])]), batchID: "s\(index)")
        }
    }

    func exactQuantile(_ sorted: [UInt64], _ q: Double) -> Double {
        Double(sorted[Int((q * Double(sorted.count - 1)).rounded(.down))])
    }

    @Test("traffic, errors by type and latency percentiles match the raw spans (within 1 %)")
    func matchesRawSpans() throws {
        let store = try TelemetryStore(directory: directory)
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
    }

    @Test("rollups are journaled per batch: a restart before the flush loses nothing, and flushing twice counts once")
    func journalSurvivesRestart() throws {
        let traffic = Self.traffic()
        let requests = traffic.filter { $0.span.kind == .server || $0.span.kind == .consumer }.count
        let range = SignalsQuery(startUnixNano: Self.base, endUnixNano: Self.base + 20 * 60_000_000_000)
        do {
            let store = try TelemetryStore(directory: directory)
            try ingest(store, traffic)
            let journaled = try store.allPartitions[0].writer.withLock { database -> Int in
                let statement = try database.statement("SELECT count(*), (SELECT count(*) FROM rollups) FROM rollup_journal")
                _ = try statement.step()
                #expect(statement.int(1) == 0, "nothing merged before a flush")
                return statement.int(0)
            }
            #expect(journaled == (traffic.count + 499) / 500, "one journal entry per batch")
        }
        // The "crashed" store is gone without a flush; a new one merges the journal on first read.
        let reopened = try TelemetryStore(directory: directory)
        #expect(try reopened.goldenSignals(range).rows.first?.requests == requests)
        try reopened.flushRollups()
        try reopened.flushRollups()
        #expect(try reopened.goldenSignals(range).rows.first?.requests == requests)
        let left = try reopened.allPartitions[0].writer.withLock { database -> Int in
            let statement = try database.statement("SELECT count(*) FROM rollup_journal")
            _ = try statement.step()
            return statement.int(0)
        }
        #expect(left == 0)
    }

    @Test("journal entries round-trip; a damaged one is refused, not misread")
    func journalEncoding() throws {
        let objective = ServiceLevelObjective(name: "avail", service: "checkout", indicator: .availability, objective: 99.9)
        let deltas = RollupDeltas(spans: Self.traffic(), objectives: [objective])
        #expect(!deltas.requests.isEmpty && !deltas.slo.isEmpty)
        #expect(try RollupDeltas(encoded: deltas.encoded) == deltas)
        let bytes = deltas.encoded
        for cut in [1, bytes.count / 3, bytes.count - 1] {
            #expect(throws: RollupDeltas.DamagedJournal.self) { try RollupDeltas(encoded: Array(bytes.prefix(cut))) }
        }
    }

    @Test("saturation is the highest recent utilisation gauge of the service")
    func saturation() throws {
        let store = try TelemetryStore(directory: directory)
        try ingest(store, Array(Self.traffic().prefix(10)))
        _ = try store.ingest(.metrics([ResourceMetrics(resource: Resource(serviceName: "checkout"), scopes: [ScopeMetrics(metrics: [
            Metric(name: "process.cpu.utilization", data: .gauge([NumberPoint(timeUnixNano: Self.base + 1, value: .double(0.9)), NumberPoint(timeUnixNano: Self.base + 2, value: .double(0.35))])),
            Metric(name: "system.memory.utilization", data: .gauge([NumberPoint(timeUnixNano: Self.base + 2, value: .double(0.6))])),
        ])])]), batchID: "m")
        let signals = try store.goldenSignals(SignalsQuery(startUnixNano: Self.base, endUnixNano: Self.base + 60_000_000_000))
        #expect(signals.rows.first?.saturation == 0.6, "latest CPU 0.35, latest memory 0.6")
    }
}

@Suite("Latency sketch and rollup resolutions")
struct LatencySketchTests {
    @Test("every quantile within 1 % of the exact order statistic; merging equals adding")
    func accuracy() {
        var generator = SplitMix(seed: 7)
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
            let exact = Double(values[Int((q * Double(values.count - 1)).rounded(.down))])
            let estimate = sketch.quantile(q) ?? -1
            #expect(exact == 0 ? estimate == 0 : abs(estimate - exact) / exact <= 0.01, "q\(q): \(estimate) vs \(exact)")
        }
        let leftAlone = left
        left.merge(right)
        #expect(left == sketch)
        #expect(LatencySketch(encoded: sketch.encoded) == sketch)
        var fromBytes = LatencySketch()
        for half in [leftAlone, right] { half.encoded.withUnsafeBytes { fromBytes.merge(encoded: $0) } }
        #expect(fromBytes == sketch, "merging encoded bytes equals merging sketches")
        #expect(LatencySketch().quantile(0.5) == nil)
    }

    @Test("cover splits any range into contiguous minute, hour and day buckets")
    func cover() {
        let day: UInt64 = 86_400_000_000_000
        let cases: [(UInt64, UInt64)] = [
            (10 * day + 7 * 60_000_000_000, 10 * day + 13 * 60_000_000_000),
            (10 * day + 59 * 60_000_000_000, 10 * day + 3 * 3_600_000_000_000 + 120_000_000_000),
            (10 * day + 90 * 60_000_000_000, 40 * day + 5 * 3_600_000_000_000 + 300_000_000_000),
            (10 * day, 12 * day),
        ]
        for (start, end) in cases {
            var cursor = Int64(start / 1_000_000_000)
            for (resolution, first, last) in Resolution.cover(startUnixNano: start, endUnixNano: end) {
                #expect(first == cursor, "contiguous")
                #expect(first % Int64(resolution.rawValue) == 0 && last >= first)
                cursor = last + Int64(resolution.rawValue)
            }
            #expect(cursor == Int64(end / 1_000_000_000))
        }
        let month = Resolution.cover(startUnixNano: 10 * day + 61_000_000_000, endUnixNano: 40 * day + 3_700_000_000_000)
        #expect(month.count <= 5, "a month is a handful of ranges: \(month)")
    }
}

/// A deterministic generator so failures reproduce.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
