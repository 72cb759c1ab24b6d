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

    /// Traffic, errors, latency and saturation per service (or operation) over a range, from
    /// rollups only: a 30-day question reads about fifty bucket rows per partition range.
    func goldenSignals(_ query: SignalsQuery) throws -> QueryAPI.Signals {
        let start = query.startUnixNano / 60_000_000_000 * 60_000_000_000
        let end = max(start + 60_000_000_000, (query.endUnixNano + 59_999_999_999) / 60_000_000_000 * 60_000_000_000)
        let span = end - start
        let seriesResolution: Resolution = span >= 10 * Resolution.day.nanos ? .day : span >= 10 * Resolution.hour.nanos ? .hour : .minute
        let firstSeriesBucket = seriesResolution.bucket(start)
        let seriesCount = Int((Int64(end / 1_000_000_000) - firstSeriesBucket + Int64(seriesResolution.rawValue) - 1) / Int64(seriesResolution.rawValue))
        let wanted: RequestBucket.Entries = query.byOperation ? .operations : .services
        let service = query.service.map { Array($0.utf8) }

        // The buckets' bytes one after another, each with its step of the sparkline. Buckets are
        // no coarser than the step, so each one falls in a single step.
        var arena = [UInt8]()
        var buckets = [(step: Int, bytes: Range<Int>)]()
        for (resolution, first, last) in Resolution.cover(startUnixNano: start, endUnixNano: end, coarsest: seriesResolution) where last >= first {
            for partition in try partitionsWithRollups(from: UInt64(first) * 1_000_000_000, to: UInt64(last) * 1_000_000_000 + resolution.nanos - 1) {
                try partition.reader.withLock { database in
                    let statement = try database.statement("""
                        SELECT bucket, aggregates FROM request_rollups WHERE resolution = ? AND bucket BETWEEN ? AND ?
                        """).bind(1, resolution.rawValue).bind(2, first).bind(3, last)
                    while try statement.step() {
                        let step = Int((statement.int64(0) - firstSeriesBucket) / Int64(seriesResolution.rawValue))
                        guard (0..<seriesCount).contains(step) else { continue }
                        statement.withBlob(1) { bytes in
                            buckets.append((step, arena.count..<(arena.count + bytes.count)))
                            arena.append(contentsOf: bytes)
                        }
                    }
                }
            }
        }
        // Each row is merged from all its entries in one go, so its sketches stay in the cache
        // (bucket by bucket, every bucket would touch every row's sketches), and only its
        // figures are kept.
        var rowIndex = SignalRowIndex()
        var figures = [RowFigures]()
        arena.withUnsafeBytes { arena in
            var entries = [(row: Int, bucket: Int, bytes: Range<Int>)]()
            for (number, bucket) in buckets.enumerated() {
                // A damaged bucket counts up to the point of damage.
                try? RequestBucket.forEach(in: UnsafeRawBufferPointer(rebasing: arena[bucket.bytes]), entries: wanted, service: service) { (service, operation, reader) throws(DamagedRollupData) in
                    guard let base = arena.baseAddress, let entry = reader.bytes.baseAddress else { return }
                    let offset = base.distance(to: entry)
                    entries.append((rowIndex.index(service: service, operation: operation), number, offset..<(offset + reader.bytes.count)))
                }
            }
            var first = [Int](repeating: 0, count: rowIndex.keys.count + 1)
            for entry in entries { first[entry.row + 1] += 1 }
            for row in rowIndex.keys.indices { first[row + 1] += first[row] }
            var byRow = entries
            var next = first
            for entry in entries {
                byRow[next[entry.row]] = entry
                next[entry.row] += 1
            }
            var aggregate = RequestAggregate()
            for row in rowIndex.keys.indices {
                aggregate.removeAll()
                var series = [Int](repeating: 0, count: seriesCount)
                for entry in byRow[first[row]..<first[row + 1]] {
                    var reader = RollupByteReader(UnsafeRawBufferPointer(rebasing: arena[entry.bytes]))
                    let before = aggregate.requests
                    try? aggregate.merge(from: &reader)
                    series[buckets[entry.bucket].step] += aggregate.requests - before
                }
                figures.append(RowFigures(
                    requests: aggregate.requests, errors: aggregate.errors, errorTypes: aggregate.errorTypes,
                    latency: Self.percentiles(aggregate.ok), failureLatency: Self.percentiles(aggregate.failed), series: series))
            }
        }
        let seconds = Double(span) / 1e9
        let saturation = try latestSaturation(services: Set(rowIndex.keys.map(\.service)), start: start, end: end)
        let rows = rowIndex.keys.indices.sorted { rowIndex.keys[$0] < rowIndex.keys[$1] }.map { index -> QueryAPI.SignalRow in
            let key = rowIndex.keys[index]
            let row = figures[index]
            return QueryAPI.SignalRow(
                service: key.service, operation: key.operation.isEmpty ? nil : key.operation,
                requests: row.requests, requestsPerSecond: Double(row.requests) / seconds,
                errors: row.errors, errorRatio: row.requests > 0 ? Double(row.errors) / Double(row.requests) : 0,
                errorTypes: row.errorTypes, latency: row.latency, failureLatency: row.failureLatency,
                saturation: saturation[key.service], series: row.series)
        }
        return QueryAPI.Signals(
            startTimeUnixNano: start, endTimeUnixNano: end, seriesStepSeconds: seriesResolution.rawValue, rows: rows)
    }

    /// What a signals answer keeps of a row once it has been merged.
    private struct RowFigures {
        var requests: Int
        var errors: Int
        var errorTypes: [String: Int]
        var latency: QueryAPI.Percentiles?
        var failureLatency: QueryAPI.Percentiles?
        var series: [Int]
    }

    static func percentiles(_ sketch: LatencySketch) -> QueryAPI.Percentiles? {
        guard let values = sketch.quantiles([0.5, 0.9, 0.99, 0.999]) else { return nil }
        return QueryAPI.Percentiles(p50: values[0], p90: values[1], p99: values[2], p999: values[3])
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

/// The rows of a signals answer, found by the service and operation bytes of each stored entry
/// without making two strings and hashing them per entry (a 30-day question reads ~60,000
/// entries): an FNV-1a hash of the bytes in an `IndexMap`, checked against the row's bytes; a
/// row whose hash another row has is found by name instead.
private struct SignalRowIndex {
    struct Key: Hashable, Comparable {
        var service: String
        var operation: String

        static func < (lhs: Key, rhs: Key) -> Bool { (lhs.service, lhs.operation) < (rhs.service, rhs.operation) }
    }

    /// Row n's key; rows are numbered in the order they were first seen.
    private(set) var keys: [Key] = []
    /// Row n's service bytes, 0xFF (never in UTF-8), its operation bytes.
    private var bytes: [[UInt8]] = []
    private var byHash = IndexMap()
    private var byName: [Key: Int] = [:]

    /// The row of an entry; `keys.count` before the call when it is a new row.
    mutating func index(service: UnsafeRawBufferPointer, operation: UnsafeRawBufferPointer) -> Int {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in service { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        hash = (hash ^ 0xFF) &* 0x100_0000_01B3
        for byte in operation { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        if let found = byHash.index(hash, insertingIfAbsent: Int32(keys.count)) {
            let row = Int(found)
            if Self.matches(bytes[row], service, operation) { return row }
            let key = Key(service: String(decoding: service, as: UTF8.self), operation: String(decoding: operation, as: UTF8.self))
            if let row = byName[key] { return row }
            byName[key] = keys.count
            append(key, service, operation)
            return keys.count - 1
        }
        append(Key(service: String(decoding: service, as: UTF8.self), operation: String(decoding: operation, as: UTF8.self)), service, operation)
        return keys.count - 1
    }

    private mutating func append(_ key: Key, _ service: UnsafeRawBufferPointer, _ operation: UnsafeRawBufferPointer) {
        keys.append(key)
        bytes.append(Array(service) + [0xFF] + Array(operation))
    }

    private static func matches(_ stored: [UInt8], _ service: UnsafeRawBufferPointer, _ operation: UnsafeRawBufferPointer) -> Bool {
        guard stored.count == service.count + 1 + operation.count else { return false }
        return stored.withUnsafeBytes { stored in
            stored[service.count] == 0xFF && stored.prefix(service.count).elementsEqual(service)
                && stored.suffix(operation.count).elementsEqual(operation)
        }
    }
}
