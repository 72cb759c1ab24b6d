import CoreMetrics
import PeriscopeModel
import PeriscopeSDK
import Testing

@Suite struct MetricsTests {
    func metric(_ name: String, in metrics: [Metric]) throws -> Metric {
        try #require(metrics.first { $0.name == name }, "\(name) in \(metrics.map(\.name))")
    }

    @Test func countersAreCumulativeWithAFixedStartTimeAndDimensionsAsAttributes() throws {
        let factory = PeriscopeMetrics()
        let ok = factory.makeCounter(label: "requests", dimensions: [("outcome", "ok"), ("method", "GET")])
        let again = factory.makeCounter(label: "requests", dimensions: [("method", "GET"), ("outcome", "ok")])
        let failed = factory.makeCounter(label: "requests", dimensions: [("outcome", "error"), ("method", "GET")])
        ok.increment(by: 2)
        again.increment(by: 1)
        failed.increment(by: 1)
        ok.increment(by: -5)  // ignored: counters only go up

        let first = try metric("requests", in: factory.collect(nowUnixNano: 1_000))
        guard case .sum(let points, let temporality, let monotonic) = first.data else { Issue.record("\(first.data)"); return }
        #expect(temporality == .cumulative && monotonic)
        #expect(points.count == 2)
        let okPoint = try #require(points.first { $0.attributes["outcome"] == .string("ok") })
        #expect(okPoint.value == .int(3), "the same label and dimensions (in any order) are one series")
        #expect(okPoint.attributes.map(\.key) == ["method", "outcome"])
        #expect(okPoint.timeUnixNano == 1_000)

        ok.increment(by: 4)
        let second = try metric("requests", in: factory.collect(nowUnixNano: 2_000))
        guard case .sum(let later, _, _) = second.data else {
            Issue.record("requests is not a sum: \(second.data)")
            return
        }
        let okLater = try #require(later.first { $0.attributes["outcome"] == .string("ok") })
        #expect(okLater.value == .int(7), "cumulative, not delta")
        #expect(okLater.startTimeUnixNano == okPoint.startTimeUnixNano, "fixed start time")
        #expect(okLater.startTimeUnixNano > 0)
    }

    @Test func floatingPointCountersMetersAndGaugeRecorders() throws {
        let factory = PeriscopeMetrics()
        factory.makeFloatingPointCounter(label: "bytes", dimensions: []).increment(by: 1.5)
        factory.makeFloatingPointCounter(label: "bytes", dimensions: []).increment(by: 2.25)
        let meter = factory.makeMeter(label: "queue.depth", dimensions: [])
        meter.set(Int64(10))
        meter.increment(by: 2)
        meter.decrement(by: 5)
        factory.makeRecorder(label: "temperature", dimensions: [], aggregate: false).record(21.5)
        factory.makeRecorder(label: "temperature", dimensions: [], aggregate: false).record(Int64(22))
        _ = factory.makeMeter(label: "never.set", dimensions: [])

        let metrics = factory.collect()
        #expect(metrics.map(\.name) == ["bytes", "queue.depth", "temperature"], "a gauge never set is not exported")
        #expect(try metric("bytes", in: metrics).data == .sum(
            [NumberPoint(startTimeUnixNano: pointStart(metrics, "bytes"), timeUnixNano: pointTime(metrics), value: .double(3.75))],
            temporality: .cumulative, isMonotonic: true))
        guard case .gauge(let depth) = try metric("queue.depth", in: metrics).data,
              case .gauge(let temperature) = try metric("temperature", in: metrics).data
        else { Issue.record("gauges expected"); return }
        #expect(depth.first?.value == .double(7))
        #expect(temperature.first?.value == .int(22), "last value wins")
    }

    func pointStart(_ metrics: [Metric], _ name: String) -> UInt64 {
        if case .sum(let points, _, _)? = metrics.first(where: { $0.name == name })?.data { return points[0].startTimeUnixNano }
        return 0
    }

    func pointTime(_ metrics: [Metric]) -> UInt64 {
        if case .sum(let points, _, _)? = metrics.first?.data { return points[0].timeUnixNano }
        return 0
    }

    @Test func timersAreHistogramsInSecondsWithLatencyBuckets() throws {
        let factory = PeriscopeMetrics()
        let timer = factory.makeTimer(label: "latency", dimensions: [("route", "/x")])
        timer.recordNanoseconds(3_000_000)  // 3 ms → first bucket (≤ 5 ms)
        timer.recordNanoseconds(5_000_000)  // exactly 5 ms → still first bucket (upper bound inclusive)
        timer.recordNanoseconds(200_000_000)  // 200 ms → (0.1, 0.25]
        timer.recordNanoseconds(60_000_000_000)  // 60 s → overflow bucket

        let latency = try metric("latency", in: factory.collect())
        #expect(latency.unit == "s")
        guard case .histogram(let points, let temporality) = latency.data, let point = points.first else {
            Issue.record("\(latency.data)")
            return
        }
        #expect(temporality == .cumulative)
        #expect(point.explicitBounds == PeriscopeMetrics.Configuration.defaultTimerBuckets)
        #expect(point.bucketCounts.count == point.explicitBounds.count + 1)
        #expect(point.count == 4)
        #expect(point.bucketCounts[0] == 2)
        #expect(point.bucketCounts[point.explicitBounds.firstIndex(of: 0.25)!] == 1)
        #expect(point.bucketCounts.last == 1)
        #expect(abs((point.sum ?? 0) - 60.208) < 1e-9)
        #expect(abs((point.min ?? 0) - 0.003) < 1e-12 && abs((point.max ?? 0) - 60) < 1e-9)
        #expect(point.attributes == [Attribute("route", .string("/x"))])
    }

    @Test func aggregatingRecordersUseTheRecorderBuckets() throws {
        let factory = PeriscopeMetrics(configuration: .init(recorderBuckets: [100, 10, 10, .nan]))
        #expect(factory.configuration.recorderBuckets == [10, 100], "bounds sorted, distinct, finite")
        let sizes = factory.makeRecorder(label: "payload", dimensions: [], aggregate: true)
        for value in [1.0, 10, 11, 1000] { sizes.record(value) }
        let payload = try metric("payload", in: factory.collect())
        guard case .histogram(let points, _) = payload.data else {
            Issue.record("payload is not a histogram: \(payload.data)")
            return
        }
        #expect(points.first?.bucketCounts == [2, 1, 1])
    }

    @Test func destroyedSeriesStopBeingExported() throws {
        let factory = PeriscopeMetrics()
        let counter = factory.makeCounter(label: "gone", dimensions: [])
        counter.increment(by: 1)
        factory.makeCounter(label: "kept", dimensions: []).increment(by: 1)
        factory.destroyCounter(counter)
        #expect(factory.collect().map(\.name) == ["kept"])
        #expect(factory.seriesCount == 1)
    }

    @Test func seriesBeyondTheLimitAreDroppedAndCounted() {
        let factory = PeriscopeMetrics(configuration: .init(maxSeries: 3))
        for user in 0..<10 {
            factory.makeCounter(label: "per.user", dimensions: [("user", "\(user)")]).increment(by: 1)
        }
        #expect(factory.seriesCount == 3)
        #expect(factory.droppedSeries == 7)
        #expect(factory.collect().first?.data.pointCount == 3)
    }

    @Test func concurrentIncrementsAreAllCounted() async throws {
        let factory = PeriscopeMetrics()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let counter = factory.makeCounter(label: "hits", dimensions: [])
                    let timer = factory.makeTimer(label: "t", dimensions: [])
                    for _ in 0..<10_000 {
                        counter.increment(by: 1)
                        timer.recordNanoseconds(1_000)
                    }
                }
            }
        }
        let metrics = factory.collect()
        guard case .sum(let points, _, _) = try metric("hits", in: metrics).data,
              case .histogram(let histogram, _) = try metric("t", in: metrics).data
        else {
            Issue.record("hits is not a sum or t not a histogram")
            return
        }
        #expect(points.first?.value == .int(80_000))
        #expect(histogram.first?.count == 80_000)
    }

    @Test(.timeLimit(.minutes(1)))
    func metricsExportToAnAbsentAgentFailsQuietlyAndIsCounted() async {
        let periscope = try! Periscope(configuration: PeriscopeConfiguration(
            serviceName: "metrics-test", agentEndpoint: "http://127.0.0.1:1",
            export: ExporterTests.closedPort, shutdownTimeout: .seconds(2)))
        periscope.metrics.makeCounter(label: "c", dimensions: []).increment(by: 1)
        await periscope.forceFlush()
        #expect(periscope.statistics.exporter.failedExports == 1)
        #expect(periscope.statistics.exporter.exportedMetricPoints == 0)
    }
}
