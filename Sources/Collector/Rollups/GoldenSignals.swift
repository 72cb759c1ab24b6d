import PeriscopeTelemetry

/// A golden-signals question: a time range, optionally one service, per service or per operation.
struct SignalsQuery: Equatable, Sendable {
    var service: String?
    var byOperation = false
    var startUnixNano: UInt64
    var endUnixNano: UInt64
}

extension TelemetryStore {
    /// Gauges that say how saturated a service is (0–1), newest value in range wins.
    static let saturationGauges = [
        "process.cpu.utilization", "system.cpu.utilization", "system.memory.utilization", "periscope.agent.queue.utilization",
    ]

    private struct Aggregate {
        var requests = 0
        var errors = 0
        var ok = LatencySketch()
        var failed = LatencySketch()
        var errorTypes: [String: Int] = [:]
        var series: [Int]
    }

    private struct RowKey: Hashable, Comparable {
        var service: String
        var operation: String

        static func < (lhs: RowKey, rhs: RowKey) -> Bool { (lhs.service, lhs.operation) < (rhs.service, rhs.operation) }
    }

    /// Traffic, errors, latency and saturation per service (or operation) over a range, from
    /// rollups only: a 30-day question reads about a hundred rows per row of the answer.
    func goldenSignals(_ query: SignalsQuery) throws -> QueryAPI.Signals {
        let start = query.startUnixNano / 60_000_000_000 * 60_000_000_000
        let end = max(start + 60_000_000_000, (query.endUnixNano + 59_999_999_999) / 60_000_000_000 * 60_000_000_000)
        let span = end - start
        let seriesResolution: Resolution = span >= 10 * Resolution.day.nanos ? .day : span >= 10 * Resolution.hour.nanos ? .hour : .minute
        let firstSeriesBucket = seriesResolution.bucket(start)
        let seriesCount = Int((Int64(end / 1_000_000_000) - firstSeriesBucket + Int64(seriesResolution.rawValue) - 1) / Int64(seriesResolution.rawValue))
        var aggregates = [RowKey: Aggregate]()
        let operationFilter = query.byOperation ? "operation != ''" : "operation = ''"
        let serviceFilter = query.service == nil ? "" : " AND service = ?"

        for (resolution, first, last) in Resolution.cover(startUnixNano: start, endUnixNano: end) where last >= first {
            for partition in try partitionsWithRollups(from: UInt64(first) * 1_000_000_000, to: UInt64(last) * 1_000_000_000 + resolution.nanos - 1) {
                try partition.reader.withLock { database in
                    let statement = try database.statement("""
                        SELECT service, operation, requests, errors, ok_latency, error_latency, error_types FROM rollups
                        WHERE resolution = ? AND bucket BETWEEN ? AND ? AND \(operationFilter)\(serviceFilter)
                        """).bind(1, resolution.rawValue).bind(2, first).bind(3, last)
                    if let service = query.service { statement.bind(4, service) }
                    while try statement.step() {
                        let key = RowKey(service: statement.string(0), operation: statement.string(1))
                        var aggregate = aggregates[key] ?? Aggregate(series: Array(repeating: 0, count: seriesCount))
                        aggregate.requests += statement.int(2)
                        aggregate.errors += statement.int(3)
                        aggregate.ok.merge(LatencySketch(encoded: statement.blob(4)))
                        aggregate.failed.merge(LatencySketch(encoded: statement.blob(5)))
                        for (type, count) in ErrorTypes.decode(statement.string(6)) { aggregate.errorTypes[type, default: 0] += count }
                        aggregates[key] = aggregate
                    }
                }
            }
        }
        // The sparkline: request counts per series bucket, from one coarse pass.
        for partition in try partitionsWithRollups(from: start, to: end - 1) {
            try partition.reader.withLock { database in
                let statement = try database.statement("""
                    SELECT service, operation, bucket, requests FROM rollups
                    WHERE resolution = ? AND bucket BETWEEN ? AND ? AND \(operationFilter)\(serviceFilter)
                    """).bind(1, seriesResolution.rawValue).bind(2, firstSeriesBucket).bind(3, Int64(end / 1_000_000_000) - 1)
                if let service = query.service { statement.bind(4, service) }
                while try statement.step() {
                    let key = RowKey(service: statement.string(0), operation: statement.string(1))
                    let index = Int((statement.int64(2) - firstSeriesBucket) / Int64(seriesResolution.rawValue))
                    guard aggregates[key] != nil, (0..<seriesCount).contains(index) else { continue }
                    aggregates[key]!.series[index] += statement.int(3)
                }
            }
        }
        let seconds = Double(span) / 1e9
        var saturation = [String: Double]()
        for service in Set(aggregates.keys.map(\.service)) {
            saturation[service] = try latestSaturation(service: service, start: start, end: end)
        }
        let rows = aggregates.keys.sorted().map { key -> QueryAPI.SignalRow in
            let aggregate = aggregates[key]!
            return QueryAPI.SignalRow(
                service: key.service, operation: key.operation.isEmpty ? nil : key.operation,
                requests: aggregate.requests, requestsPerSecond: Double(aggregate.requests) / seconds,
                errors: aggregate.errors, errorRatio: aggregate.requests > 0 ? Double(aggregate.errors) / Double(aggregate.requests) : 0,
                errorTypes: aggregate.errorTypes, latency: Self.percentiles(aggregate.ok), failureLatency: Self.percentiles(aggregate.failed),
                saturation: saturation[key.service], series: aggregate.series)
        }
        return QueryAPI.Signals(
            startTimeUnixNano: start, endTimeUnixNano: end, seriesStepSeconds: seriesResolution.rawValue, rows: rows)
    }

    static func percentiles(_ sketch: LatencySketch) -> QueryAPI.Percentiles? {
        guard let p50 = sketch.quantile(0.5), let p90 = sketch.quantile(0.9), let p99 = sketch.quantile(0.99),
              let p999 = sketch.quantile(0.999) else { return nil }
        return QueryAPI.Percentiles(p50: p50, p90: p90, p99: p99, p999: p999)
    }

    private func latestSaturation(service: String, start: UInt64, end: UInt64) throws -> Double? {
        var best: (time: UInt64, value: Double)?
        var values = [String: (time: UInt64, value: Double)]()
        for partition in partitions(from: start, to: end).reversed() {
            try partition.reader.withLock { database in
                for name in Self.saturationGauges where values[name] == nil {
                    let statement = try database.statement("""
                        SELECT time_ns, value FROM metric_points WHERE name = ? AND service = ? AND time_ns BETWEEN ? AND ?
                        ORDER BY time_ns DESC LIMIT 1
                        """).bind(1, name).bind(2, service).bind(3, start).bind(4, end)
                    if try statement.step() { values[name] = (statement.uint64(0), statement.double(1)) }
                    statement.reset()
                }
            }
        }
        for value in values.values where best == nil || value.value > best!.value { best = value }
        return best?.value
    }
}
