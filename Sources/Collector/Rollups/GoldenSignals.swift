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
        // Aggregates live in an array and are found by index, so each row mutates its
        // aggregate in place (a dictionary value copied out and back would copy its sketches).
        var rowIndex = [RowKey: Int]()
        var aggregates = [Aggregate]()
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
                        let index = rowIndex[key] ?? {
                            aggregates.append(Aggregate(series: Array(repeating: 0, count: seriesCount)))
                            rowIndex[key] = aggregates.count - 1
                            return aggregates.count - 1
                        }()
                        aggregates[index].requests += statement.int(2)
                        aggregates[index].errors += statement.int(3)
                        statement.withBlob(4) { aggregates[index].ok.merge(encoded: $0) }
                        statement.withBlob(5) { aggregates[index].failed.merge(encoded: $0) }
                        if statement.int(3) > 0 {
                            for (type, count) in ErrorTypes.decode(statement.string(6)) { aggregates[index].errorTypes[type, default: 0] += count }
                        }
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
                    let bucket = Int((statement.int64(2) - firstSeriesBucket) / Int64(seriesResolution.rawValue))
                    guard let index = rowIndex[key], (0..<seriesCount).contains(bucket) else { continue }
                    aggregates[index].series[bucket] += statement.int(3)
                }
            }
        }
        let seconds = Double(span) / 1e9
        let saturation = try latestSaturation(services: Set(rowIndex.keys.map(\.service)), start: start, end: end)
        let rows = rowIndex.keys.sorted().map { key -> QueryAPI.SignalRow in
            let aggregate = aggregates[rowIndex[key]!]
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

    /// Per service, the highest of the newest value of each saturation gauge in range: one
    /// query per gauge and partition (newest partition first) for all services at once.
    private func latestSaturation(services: Set<String>, start: UInt64, end: UInt64) throws -> [String: Double] {
        var newest = [String: [String: (time: UInt64, value: Double)]]()  // gauge → service → newest point
        for partition in partitions(from: start, to: end).reversed() {
            try partition.reader.withLock { database in
                for name in Self.saturationGauges where newest[name, default: [:]].count < services.count {
                    let statement = try database.statement("""
                        SELECT service, max(time_ns), value FROM metric_points WHERE name = ? AND time_ns BETWEEN ? AND ?
                        GROUP BY service
                        """).bind(1, name).bind(2, start).bind(3, end)
                    while try statement.step() {
                        let service = statement.string(0)
                        guard services.contains(service), newest[name]?[service] == nil else { continue }
                        newest[name, default: [:]][service] = (statement.uint64(1), statement.double(2))
                    }
                }
            }
        }
        var out = [String: Double]()
        for points in newest.values {
            for (service, point) in points { out[service] = max(out[service] ?? point.value, point.value) }
        }
        return out
    }
}
