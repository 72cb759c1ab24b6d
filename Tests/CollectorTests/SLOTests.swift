import Foundation
@testable import PeriscopeCollector
import PeriscopeModel
import PeriscopeQueryAPI
import Testing

/// SLO math against traffic of known shape; every expected number is worked out by hand in
/// the comments. "now" is 30 s into minute T; a window of w ends with minute T (inclusive).
@Suite("SLOs and burn-rate alerts")
struct SLOTests {
    static let minute: UInt64 = 60_000_000_000
    /// Minute T starts here (a whole day boundary plus 10 h, far from partition edges).
    static let minuteT: UInt64 = 20_100 * 86_400 * 1_000_000_000 + 10 * 3600 * 1_000_000_000
    static let now = minuteT + 30_000_000_000

    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("slo-\(UUID().uuidString)").path

    /// Minute k before T (k = 0 is minute T itself).
    static func minute(_ k: Int) -> UInt64 { minuteT - UInt64(k) * minute }

    /// Delta counters good/total, one point per minute, for a ratio SLO.
    static func counters(_ perMinute: [(k: Int, total: Double, good: Double)]) -> TelemetryBatch {
        let good = perMinute.map { NumberPoint(timeUnixNano: minute($0.k) + 1, value: .double($0.good)) }
        let total = perMinute.map { NumberPoint(timeUnixNano: minute($0.k) + 1, value: .double($0.total)) }
        return .metrics([ResourceMetrics(resource: Resource(serviceName: "payments"), scopes: [ScopeMetrics(metrics: [
            Metric(name: "payments.ok", data: .sum(good, temporality: .delta, isMonotonic: true)),
            Metric(name: "payments.all", data: .sum(total, temporality: .delta, isMonotonic: true)),
        ])])])
    }

    func store(_ backend: StoreBackend, _ objectives: [ServiceLevelObjective]) throws -> any TelemetryStore {
        try backend.make(directory, objectives: objectives)
    }

    static func ratio(_ name: String, objective: Double, windowDays: UInt64 = 30) -> ServiceLevelObjective {
        var slo = ServiceLevelObjective(name: name, service: "payments", indicator: .ratio(goodMetric: "payments.ok", totalMetric: "payments.all"), objective: objective)
        slo.windowNanos = windowDays * 86_400 * 1_000_000_000
        return slo
    }

    func rates(_ status: QueryAPI.SLOStatus) -> [String: Double?] {
        Dictionary(uniqueKeysWithValues: status.burnRates.map { ($0.window, $0.rate) })
    }

    func firing(_ status: QueryAPI.SLOStatus) -> [String] {
        status.alerts.filter(\.firing).map { "\($0.severity) \($0.longWindow)/\($0.shortWindow)" }
    }

    func expectClose(_ actual: Double?, _ expected: Double, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let actual else {
            Issue.record("\(what): nil, expected \(expected)", sourceLocation: sourceLocation)
            return
        }
        #expect(abs(actual - expected) <= max(1e-9, abs(expected) * 1e-6), "\(what): \(actual) vs \(expected)", sourceLocation: sourceLocation)
    }

    @Test("a burst: 3 days at 10/min, the last 5 minutes 2 of 10 bad (objective 99.9 %, 30 days)", arguments: StoreBackend.allCases)
    func burst(_ backend: StoreBackend) throws {
        let slo = Self.ratio("burst", objective: 99.9)
        let store = try store(backend, [slo])
        let traffic = (0..<4320).map { k in (k: k, total: 10.0, good: k < 5 ? 8.0 : 10.0) }
        for chunk in stride(from: 0, to: traffic.count, by: 1000) {
            _ = try store.ingest(Self.counters(Array(traffic[chunk..<min(chunk + 1000, traffic.count)])), batchID: "b\(chunk)")
        }
        let status = try store.status(of: slo, nowUnixNano: Self.now)
        // 10 bad. Budget 0.001. Burn = (10 / total) / 0.001.
        let rate = rates(status)
        expectClose(rate["5m"]!, 200, "5m: 10/50")
        expectClose(rate["30m"]!, 10.0 / 300 / 0.001, "30m: 10/300 = 33.33")
        expectClose(rate["1h"]!, 10.0 / 600 / 0.001, "1h: 16.67")
        expectClose(rate["2h"]!, 10.0 / 1200 / 0.001, "2h: 8.33")
        expectClose(rate["6h"]!, 10.0 / 3600 / 0.001, "6h: 2.78")
        expectClose(rate["1d"]!, 10.0 / 14400 / 0.001, "1d: 0.694")
        expectClose(rate["3d"]!, 10.0 / 43200 / 0.001, "3d: 0.2315")
        expectClose(rate["window"]!, 10.0 / 43200 / 0.001, "30d: all traffic is within 3 days")
        expectClose(status.sli, 43190.0 / 43200, "SLI")
        expectClose(status.budgetRemaining, 1 - 10.0 / 43200 / 0.001, "budget remaining 0.7685")
        expectClose(status.timeToExhaustionSeconds, (1 - 10.0 / 43200 / 0.001) * 2_592_000 / (10.0 / 600 / 0.001), "≈ 119,519 s")
        // Only the fast page fires: 1h 16.7 > 14.4 and 5m 200 > 14.4; 6h 2.78 < 6; 1d 0.69 < 3; 3d 0.23 < 1.
        #expect(firing(status) == ["page 1h/5m"])
    }

    @Test("a slow drift: 0.05 % bad for 3 days on a 7-day window (thresholds scale: 3.36, 1.4, 0.7, 0.233)", arguments: StoreBackend.allCases)
    func slowDrift(_ backend: StoreBackend) throws {
        let slo = Self.ratio("drift", objective: 99.9, windowDays: 7)
        let store = try store(backend, [slo])
        let traffic = (0..<4320).map { k in (k: k, total: 1000.0, good: 999.5) }
        for chunk in stride(from: 0, to: traffic.count, by: 1000) {
            _ = try store.ingest(Self.counters(Array(traffic[chunk..<min(chunk + 1000, traffic.count)])), batchID: "d\(chunk)")
        }
        let status = try store.status(of: slo, nowUnixNano: Self.now)
        for window in ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "window"] {
            expectClose(rates(status)[window]!, 0.5, "\(window): 0.0005 / 0.001")
        }
        let thresholds = status.alerts.map(\.threshold)
        for (actual, expected) in zip(thresholds, [0.02 * 168, 0.05 * 28, 0.1 * 7, 0.1 * 7 / 3]) { expectClose(actual, expected, "threshold") }
        // Only the slow ticket catches it: 3d and 6h at 0.5 > 0.233; 1d 0.5 < 0.7.
        #expect(firing(status) == ["ticket 3d/6h"])
        expectClose(status.budgetRemaining, 0.5, "half the budget left")
        expectClose(status.timeToExhaustionSeconds, 0.5 * 604_800 / 0.5, "3.5 days at this rate")
    }

    @Test("a constant 10 % error ratio from real spans over 6 hours (availability 99 %, 30 days)", arguments: StoreBackend.allCases)
    func constantErrorRatio(_ backend: StoreBackend) throws {
        let slo = ServiceLevelObjective(name: "checkout", service: "checkout", indicator: .availability, objective: 99)
        let store = try store(backend, [slo])
        var spans = [Span]()
        for k in 0..<360 {
            for i in 0..<10 {
                let start = Self.minute(k) + UInt64(i) * 1_000_000_000
                spans.append(Span(
                    traceID: TraceID(high: UInt64(k + 1), low: UInt64(i + 1)), spanID: SpanID(UInt64(k * 10 + i + 1)), name: "POST /checkout",
                    kind: .server, startTimeUnixNano: start, endTimeUnixNano: start + 5_000_000,
                    attributes: [Attribute("http.response.status_code", .int(i == 0 ? 503 : 200))]))
            }
        }
        _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "checkout"), scopes: [ScopeSpans(spans: spans)])]), batchID: "spans")
        let status = try store.status(of: slo, nowUnixNano: Self.now)
        for window in ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "window"] {
            expectClose(rates(status)[window]!, 10, "\(window): 0.1 / 0.01")
        }
        expectClose(status.sli, 0.9, "SLI")
        #expect(status.total == 3600)
        expectClose(status.budgetRemaining, -9, "overspent nine budgets")
        #expect(status.timeToExhaustionSeconds == 0)
        // 1h 10 < 14.4 so the fast page stays quiet; 6h/30m 10 > 6 pages; both tickets fire.
        #expect(firing(status) == ["page 6h/30m", "ticket 1d/2h", "ticket 3d/6h"])
    }

    @Test("latency SLI: good = duration ≤ threshold", arguments: StoreBackend.allCases)
    func latency(_ backend: StoreBackend) throws {
        let slo = ServiceLevelObjective(name: "fast", service: "api", indicator: .latency(thresholdNanos: 300_000_000), objective: 90)
        let store = try store(backend, [slo])
        let start = Self.minute(1)
        let spans = (0..<110).map { (i: Int) -> Span in
            let duration: UInt64 = i < 100 ? 100_000_000 : 300_000_001
            return Span(traceID: TraceID(high: 7, low: UInt64(i + 1)), spanID: SpanID(UInt64(i + 1)), name: "GET /", kind: .server,
                        startTimeUnixNano: start, endTimeUnixNano: start + duration)
        }
        _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "api"), scopes: [ScopeSpans(spans: spans)])]), batchID: "l")
        let status = try store.status(of: slo, nowUnixNano: Self.now)
        #expect(status.total == 110 && status.good == 100)
        expectClose(rates(status)["5m"]!, (10.0 / 110) / 0.1, "5m burn 0.909")
        #expect(firing(status).isEmpty)
    }

    @Test("boundaries: no traffic, all errors, objective 100 %", arguments: StoreBackend.allCases)
    func boundaries(_ backend: StoreBackend) throws {
        let empty = Self.ratio("empty", objective: 99.9)
        let allBad = Self.ratio("all-bad", objective: 99)
        let perfect = Self.ratio("perfect", objective: 100)
        let quiet = try store(backend, [empty])
        let none = try quiet.status(of: empty, nowUnixNano: Self.now)
        #expect(none.sli == nil && none.total == 0)
        #expect(none.burnRates.allSatisfy { $0.rate == nil })
        #expect(none.budgetRemaining == 1 && none.timeToExhaustionSeconds == nil && firing(none).isEmpty)

        let busy = try backend.make(directory + "-2", objectives: [allBad, perfect])
        _ = try busy.ingest(Self.counters((0..<10).map { (k: $0, total: 5.0, good: 0.0) }), batchID: "x")
        let bad = try busy.status(of: allBad, nowUnixNano: Self.now)
        expectClose(bad.sli, 0, "SLI 0")
        expectClose(rates(bad)["5m"]!, 100, "1 / 0.01")
        #expect(firing(bad).count == 4)
        let hundred = try busy.status(of: perfect, nowUnixNano: Self.now)
        #expect(hundred.errorBudget == 0)
        #expect(rates(hundred)["5m"]! == .infinity)
        #expect(hundred.budgetRemaining == -.infinity)
        #expect(hundred.timeToExhaustionSeconds == 0)
        #expect(firing(hundred).count == 4)
        // Exactly the budget spent, in decimal: nothing left, not 9e-16.
        for (objective, good, total) in [(99.0, 99.0, 100.0), (99.9, 999.0, 1_000.0), (95.0, 95.0, 100.0), (99.99, 9_999.0, 10_000.0)] {
            let spent = Self.ratio("spent", objective: objective)
            let exact = try backend.make(directory + "-spent-\(objective)", objectives: [spent])
            _ = try exact.ingest(Self.counters([(k: 1, total: total, good: good)]), batchID: "s")
            let status = try exact.status(of: spent, nowUnixNano: Self.now)
            #expect(status.budgetRemaining == 0, "objective \(objective): \(status.budgetRemaining)")
            #expect(status.timeToExhaustionSeconds == 0)
        }
        let encoded = String(decoding: try QueryAPI.encoder().encode(hundred), as: UTF8.self)
        #expect(encoded.contains("\"Infinity\""))
        #expect(try QueryAPI.decoder().decode(QueryAPI.SLOStatus.self, from: Data(encoded.utf8)) == hundred)
    }

    @Test("cumulative counters count their increases, and a reset restarts from the new value", arguments: StoreBackend.allCases)
    func cumulativeCounters(_ backend: StoreBackend) throws {
        let slo = Self.ratio("cumulative", objective: 99)
        var sameCounters = Self.ratio("same-counters", objective: 90)
        sameCounters.windowNanos = 7 * 86_400 * 1_000_000_000
        let store = try store(backend, [slo, sameCounters])
        func point(_ k: Int, _ good: Double, _ total: Double) -> TelemetryBatch {
            .metrics([ResourceMetrics(resource: Resource(serviceName: "payments"), scopes: [ScopeMetrics(metrics: [
                Metric(name: "payments.ok", data: .sum([NumberPoint(timeUnixNano: Self.minute(k) + 1, value: .double(good))], temporality: .cumulative, isMonotonic: true)),
                Metric(name: "payments.all", data: .sum([NumberPoint(timeUnixNano: Self.minute(k) + 1, value: .double(total))], temporality: .cumulative, isMonotonic: true)),
            ])])])
        }
        _ = try store.ingest(point(3, 100, 100), batchID: "c1")  // baseline
        _ = try store.ingest(point(2, 190, 200), batchID: "c2")  // +90 good of +100
        _ = try store.ingest(point(1, 20, 20), batchID: "c3")    // reset: +20 of +20
        _ = try store.ingest(point(2, 10, 10), batchID: "c4")    // late, older than the last point: adds nothing
        for objective in [slo, sameCounters] {
            let status = try store.status(of: objective, nowUnixNano: Self.now)
            #expect(status.total == 120 && status.good == 110, "\(objective.name): \(status.good)/\(status.total), each SLO counts the counters")
        }
    }

    @Test("cumulative counters: each instance is its own series; a series started after the collector counts its first point whole; a restart of the counter (started after the last point seen) counts from zero even above the old value", arguments: StoreBackend.allCases)
    func cumulativeSeriesIdentity(_ backend: StoreBackend) throws {
        let slo = Self.ratio("instances", objective: 99)
        let store = try store(backend, [slo])
        let now = WallClock.nowUnixNano()
        let second: UInt64 = 1_000_000_000
        func point(_ instance: String, start: UInt64, at time: UInt64, good: Double, total: Double) -> TelemetryBatch {
            .metrics([ResourceMetrics(resource: Resource(serviceName: "payments", instanceID: instance), scopes: [ScopeMetrics(metrics: [
                Metric(name: "payments.ok", data: .sum([NumberPoint(startTimeUnixNano: start, timeUnixNano: time, value: .double(good))], temporality: .cumulative, isMonotonic: true)),
                Metric(name: "payments.all", data: .sum([NumberPoint(startTimeUnixNano: start, timeUnixNano: time, value: .double(total))], temporality: .cumulative, isMonotonic: true)),
            ])])])
        }
        // A and B started an hour before the store: their first points only set baselines.
        let before = now - 3600 * second
        for (index, (instance, value)) in [("A", 100.0), ("B", 10), ("A", 200), ("B", 20), ("A", 300), ("B", 30)].enumerated() {
            _ = try store.ingest(point(instance, start: before, at: now + UInt64(index + 1) * second, good: value, total: value), batchID: "i\(index)")
        }
        // +100 +100 for A, +10 +10 for B: 220 (interleaved as one series, each drop read as a reset, it was 530).
        #expect(try store.status(of: slo, nowUnixNano: now + 60 * second).total == 220)
        // C started after the store (past the margin for clock skew): its first point is its whole count.
        let later = now + CounterBaseline.clockSkewMarginNanos + second
        _ = try store.ingest(point("C", start: later, at: later + second, good: 9, total: 10), batchID: "c")
        // A restarts (a new start time) and has counted past its old value before its first export.
        _ = try store.ingest(point("A", start: now + 6 * second, at: now + 8 * second, good: 490, total: 500), batchID: "a")
        // Then it goes on counting: +20.
        _ = try store.ingest(point("A", start: now + 6 * second, at: now + 9 * second, good: 510, total: 520), batchID: "a2")
        // A sender that moves its start time with every point (not a restart: each start is before the last point) counts its increases.
        _ = try store.ingest(point("D", start: before, at: now + 10 * second, good: 50, total: 50), batchID: "d1")
        _ = try store.ingest(point("D", start: now + 5 * second, at: now + 20 * second, good: 60, total: 60), batchID: "d2")
        let status = try store.status(of: slo, nowUnixNano: later + 60 * second)
        #expect(status.total == 760 && status.good == 749, "\(status.good)/\(status.total): 220 + 10 + 500 + 20 + 10 of which 220 + 9 + 490 + 20 + 10 good")
    }

    @Test("counter points no counter can say (NaN, infinite, negative, past 2^53) are not counted, delta or cumulative, so the window's sums stay finite", arguments: StoreBackend.allCases)
    func uncountablePoints(_ backend: StoreBackend) throws {
        let slo = Self.ratio("sane", objective: 99)
        let store = try store(backend, [slo])
        let absurd: [Double] = [1e308, 1e308, .infinity, -.infinity, .nan, -5, CounterReading.maxCount + 2]
        _ = try store.ingest(Self.counters([(k: 3, total: 10, good: 9)] + absurd.map { (k: 2, total: $0, good: $0) }), batchID: "d1")
        func cumulative(_ k: Int, _ value: Double) -> TelemetryBatch {
            .metrics([ResourceMetrics(resource: Resource(serviceName: "payments"), scopes: [ScopeMetrics(metrics: [
                Metric(name: "payments.all", data: .sum([NumberPoint(timeUnixNano: Self.minute(k) + 1, value: .double(value))], temporality: .cumulative, isMonotonic: true)),
            ])])])
        }
        for (index, value) in ([-1e308, 5, 1e308, .nan, 7] as [Double]).enumerated() {
            _ = try store.ingest(cumulative(4 - index, value), batchID: "c\(index)")
        }
        let status = try store.status(of: slo, nowUnixNano: Self.now)
        // Delta: 10 total, 9 good; cumulative: the baseline 5, then +2 at 7.
        #expect(status.total == 12 && status.good == 9, "\(status.good)/\(status.total)")
        #expect(status.budgetRemaining.isFinite && status.burnRates.allSatisfy { $0.rate?.isFinite ?? true })
    }

    @Test("cumulative counters' baselines in memory stay bounded however many series come, and live series keep counting")
    func counterBaselinesBounded() {
        let baselines = CounterBaselines(maxSeries: 1_000)
        var counted = 0.0
        // 50 rounds: one steady series and 400 new ones each round (20,000 series in all).
        for round in 0..<50 {
            var readings = [CounterReading(series: Array("steady".utf8), timeUnixNano: UInt64(round + 1) * 1_000, value: Double(round * 10))]
            for other in 0..<400 {
                readings.append(CounterReading(series: Array("churn-\(round)-\(other)".utf8), timeUnixNano: UInt64(round + 1) * 1_000, value: 5))
            }
            counted += baselines.increases(readings)[0]
            #expect(baselines.count <= 1_000, "round \(round): \(baselines.count) series kept")
        }
        #expect(counted == 490, "the steady series counted every increase (10 × 49) through every trim")
    }

    @Test("in memory, a series' first point counts whole only if it started after every baseline forgotten so far")
    func counterBaselinesTrust() {
        let margin = CounterBaseline.clockSkewMarginNanos
        let baselines = CounterBaselines(maxSeries: 8, trustedSinceUnixNano: 100)
        func reading(_ series: String, start: UInt64, _ value: Double, at time: UInt64 = 1_000 + CounterBaseline.clockSkewMarginNanos) -> CounterReading {
            CounterReading(series: Array(series.utf8), startTimeUnixNano: start, timeUnixNano: time, value: value)
        }
        #expect(baselines.increases([
            reading("old", start: 99, 5), reading("skewed", start: 100 + margin - 1, 6), reading("new", start: 100 + margin, 7), reading("unsaid", start: 0, 3),
        ]) == [0, 0, 7, 0], "a start is believed past the clock-skew margin only")
        #expect(baselines.increases([reading("future", start: 2_000 + margin, 4)]) == [0], "a start after the point's own time is not believed")
        #expect(baselines.increases([reading("reset point", start: 500 + margin, 4, at: 500 + margin)]) == [0], "a start equal to its time: count unknown")
        #expect(baselines.increases([reading("reset point", start: 500 + margin, 9, at: 600 + margin)]) == [5])
        // Past maxSeries the least recently advanced are forgotten: from then on only series started later are trusted.
        #expect(baselines.increases((0..<6).map { reading("flood-\($0)", start: 500 + margin, 1) }) == [1, 1, 1, 1, 1, 1])
        #expect(baselines.count <= 8)
        #expect(baselines.increases([reading("flood-0-again", start: 500 + margin, 9)]) == [0], "it may be one forgotten")
    }

    @Test("a write rolled back gives back what it advanced of the baselines: sent again, its batch counts the same increases; later moves stay")
    func counterBaselinesRevert() {
        let baselines = CounterBaselines()
        func reading(_ series: String, _ time: UInt64, _ value: Double) -> CounterReading {
            CounterReading(series: Array(series.utf8), timeUnixNano: time, value: value)
        }
        #expect(baselines.increases([reading("a", 1, 100), reading("b", 1, 10)]) == [0, 0], "first points set the baselines")
        let batch = [reading("a", 2, 150), reading("b", 2, 30), reading("c", 2, 7)]
        let changes = CounterBaselines.Changes()
        #expect(baselines.increases(batch, recording: changes) == [50, 20, 0])
        // Meanwhile another write moved "b" on: that stays.
        #expect(baselines.increases([reading("b", 3, 40)]) == [10])
        baselines.revert(changes)
        #expect(baselines.increases([batch[0], batch[2]]) == [50, 0], "a counts its 50 again; c is new again")
        #expect(baselines.increases([reading("b", 4, 45)]) == [5], "b kept the other write's baseline")
    }

    @Test("the alert history answers the most recent changes, however many a flapping alert made", arguments: StoreBackend.allCases)
    func alertHistoryBounded(_ backend: StoreBackend) throws {
        let store = try store(backend, [Self.ratio("flappy", objective: 99)])
        func status(_ firing: Bool) -> QueryAPI.SLOStatus {
            QueryAPI.SLOStatus(
                name: "flappy", service: nil, operation: nil, indicator: "ratio", objective: 99, windowSeconds: 86_400, total: 1, good: 1,
                sli: 1, errorBudget: 0.01, budgetRemaining: 1, burnRates: [], timeToExhaustionSeconds: nil,
                alerts: [QueryAPI.BurnRateAlert(severity: "page", longWindow: "1h", shortWindow: "5m", threshold: 14.4, firing: firing)])
        }
        for flip in 0..<1_500 { try store.alerts.record([status(flip % 2 == 0)], atUnixNano: UInt64(flip + 1)) }
        let events = try store.alerts.events(slo: "flappy")
        #expect(events.count == 1_000)
        #expect(events.first?.timeUnixNano == 501 && events.last?.timeUnixNano == 1_500, "the newest 1,000, oldest first")
        #expect(events.last?.firing == false && events.first?.firing == true)
    }

    @Test("every objective evaluated at once gets the status it gets alone", arguments: StoreBackend.allCases)
    func statusesAtOnce(_ backend: StoreBackend) throws {
        let objectives = [
            ServiceLevelObjective(name: "api-availability", service: "api", indicator: .availability, objective: 99),
            ServiceLevelObjective(name: "api-fast", service: "api", operation: "GET /", indicator: .latency(thresholdNanos: 2_000_000), objective: 95),
            ServiceLevelObjective(name: "web-availability", service: "web", indicator: .availability, objective: 99.9),
            Self.ratio("payments", objective: 99),
        ]
        let store = try store(backend, objectives)
        for service in ["api", "web"] {
            let every = service == "api" ? 40 : 90
            let spans = (0..<3000).map { (i: Int) -> Span in
                let start: UInt64 = Self.minute(i % 2000) + UInt64(i) * 1_000_000
                let duration = UInt64(i % 7) * 500_000
                let status: Int64 = i % every == 0 ? 502 : 200
                return Span(traceID: TraceID(high: UInt64(every), low: UInt64(i + 1)), spanID: SpanID(UInt64(i + 1)), name: i % 3 == 0 ? "GET /" : "POST /",
                            kind: .server, startTimeUnixNano: start, endTimeUnixNano: start + duration,
                            attributes: [Attribute("http.response.status_code", .int(status))])
            }
            _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: service), scopes: [ScopeSpans(spans: spans)])]), batchID: service)
        }
        _ = try store.ingest(Self.counters((0..<100).map { (k: $0 * 7, total: 10.0, good: $0 % 9 == 0 ? 7.0 : 10.0) }), batchID: "ratio")
        let together = try store.statuses(of: objectives, nowUnixNano: Self.now)
        #expect(together.map(\.name) == objectives.map(\.name))
        for (status, objective) in zip(together, objectives) {
            #expect(status == (try store.status(of: objective, nowUnixNano: Self.now)))
            #expect(status.total > 0, "\(status.name)")
        }
        #expect(together[0].total == 3000 && together[0].good == 3000 - 75, "every 40th of 3,000 failed")
        let fastGets = (0..<3000).filter { $0 % 3 == 0 && $0 % 7 <= 4 }.count
        #expect(together[1].total == 1000 && together[1].good == Double(fastGets), "GET / within 2 ms")
    }

    @Test("availability SLOs of a service, of one operation and of every service read the request rollups", arguments: StoreBackend.allCases)
    func availabilityScopes(_ backend: StoreBackend) throws {
        let objectives = [
            ServiceLevelObjective(name: "api", service: "api", indicator: .availability, objective: 99),
            ServiceLevelObjective(name: "api-get", service: "api", operation: "GET /", indicator: .availability, objective: 99),
            ServiceLevelObjective(name: "all-get", operation: "GET /", indicator: .availability, objective: 99),
            ServiceLevelObjective(name: "all", indicator: .availability, objective: 99),
        ]
        let store = try store(backend, objectives)
        var expected = [String: (total: Double, good: Double)]()
        for (number, service) in ["api", "web"].enumerated() {
            let spans = (0..<600).map { (i: Int) -> Span in
                let start: UInt64 = Self.minute(i % 300) + UInt64(i) * 1_000_000
                var span = Span(traceID: TraceID(high: UInt64(number + 20), low: UInt64(i + 1)), spanID: SpanID(UInt64(i + 1)),
                                name: i % 4 == 0 ? "GET /" : "POST /", kind: i % 5 == 0 ? .client : .server,
                                startTimeUnixNano: start, endTimeUnixNano: start + 1_000_000)
                if i % 7 == 0 { span.status = Span.Status(code: .error, message: "boom") }
                return span
            }
            for span in spans where span.kind == .server {
                let good = span.status.code == .error ? 0.0 : 1.0
                var scopes = ["all"]
                if service == "api" { scopes.append("api") }
                if span.name == "GET /" { scopes.append("all-get") }
                if service == "api" && span.name == "GET /" { scopes.append("api-get") }
                for scope in scopes { expected[scope, default: (0, 0)].total += 1; expected[scope, default: (0, 0)].good += good }
            }
            _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: service), scopes: [ScopeSpans(spans: spans)])]), batchID: service)
        }
        for status in try store.statuses(of: objectives, nowUnixNano: Self.now) {
            #expect(status.total == expected[status.name]?.total && status.good == expected[status.name]?.good, "\(status.name)")
        }
    }

    @Test("alert state changes are recorded with their time", arguments: StoreBackend.allCases)
    func alertLog(_ backend: StoreBackend) throws {
        let slo = Self.ratio("flappy", objective: 99)
        let store = try store(backend, [slo])
        // Interval zero: every evaluation is this collector's turn.
        let service = SLOEvaluationService(store: store, interval: .zero, logger: .init(label: "test"))
        service.evaluate(nowUnixNano: Self.now)  // no traffic: nothing recorded
        _ = try store.ingest(Self.counters([(k: 0, total: 10, good: 0)]), batchID: "bad")
        service.evaluate(nowUnixNano: Self.now)
        service.evaluate(nowUnixNano: Self.now + 1)  // unchanged: nothing new
        service.evaluate(nowUnixNano: Self.now + 4 * 86_400 * 1_000_000_000)  // long after: quiet again
        service.evaluate(nowUnixNano: Self.now + 4 * 86_400 * 1_000_000_000 + 1)  // still quiet: nothing new
        let events = try store.alerts.events(slo: "flappy")
        #expect(events.map { "\($0.severity) \($0.firing)" } == ["page true", "ticket true", "page false", "ticket false"])
        #expect(events.first?.timeUnixNano == Self.now)
        #expect(events.last?.timeUnixNano == Self.now + 4 * 86_400 * 1_000_000_000)
        #expect(try store.alerts.events(slo: nil, limit: 2).map { "\($0.severity) \($0.firing)" } == ["page false", "ticket false"],
                "the most recent changes, oldest first")
        #expect(try store.alerts.events(slo: "another").isEmpty)
    }
}

@Suite("SLO file")
struct SLOFileTests {
    @Test("a valid file")
    func valid() throws {
        let slos = try SLOFile.parse("""
            slos:
              - name: checkout-availability
                service: checkout
                sli: availability
                objective: 99.9
              - name: checkout-latency
                service: checkout
                operation: POST /checkout
                sli: latency
                threshold: 300ms
                objective: 99
                window: 7d
              - name: payments
                sli: ratio
                good: payments.ok
                total: payments.all
                objective: 99.5
            """)
        #expect(slos.count == 3)
        #expect(slos[0].windowNanos == 30 * 86_400 * 1_000_000_000)
        #expect(slos[1].indicator == .latency(thresholdNanos: 300_000_000))
        #expect(slos[1].windowNanos == 7 * 86_400 * 1_000_000_000)
        #expect(slos[2].indicator == .ratio(goodMetric: "payments.ok", totalMetric: "payments.all"))
        #expect(abs(slos[2].errorBudget - 0.005) < 1e-12)
    }

    @Test("mistakes name the line and the field", arguments: [
        ("slos:\n  - name: a\n    service: s\n    sli: availability\n    objective: 120\n", 5, "objective"),
        ("slos:\n  - name: a\n    service: s\n    sli: speed\n    objective: 99\n", 4, "sli"),
        ("slos:\n  - name: a\n    service: s\n    sli: latency\n    threshold: fast\n    objective: 99\n", 5, "threshold"),
        ("slos:\n  - name: a\n    service: s\n    sli: availability\n    objective: 99\n    windw: 7d\n", 6, "windw"),
        ("slos:\n  - name: a\n    sli: availability\n    objective: 99\n", 2, "service"),
        ("slos:\n  - name: a\n    service: s\n    sli: availability\n    objective: 99\n  - name: a\n    service: s\n    sli: availability\n    objective: 99\n", 6, "name"),
        ("slos: [\n", 2, "yaml"),
    ])
    func invalid(text: String, line: Int, field: String) {
        #expect {
            _ = try SLOFile.parse(text)
        } throws: { error in
            guard let invalid = error as? SLOFile.Invalid else { return false }
            return invalid.line == line && invalid.field == field
        }
    }
}
