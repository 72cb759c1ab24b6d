import PeriscopeQueryAPI

/// A golden-signals question: a time range, optionally one service, per service or per operation.
struct SignalsQuery: Equatable, Sendable {
    var service: String?
    var byOperation = false
    var startUnixNano: UInt64
    var endUnixNano: UInt64
    /// Most rows answered: the busiest ones (an un-templated service can have thousands).
    var limit = 1_000

    /// Gauges that say how saturated a service is (0–1), newest value in range wins.
    static let saturationGauges = [
        "process.cpu.utilization", "system.cpu.utilization", "system.memory.utilization", "periscope.agent.queue.utilization",
    ]
    /// How far back from the range's end saturation looks: its gauges come every few seconds.
    static let saturationLookback: UInt64 = 3_600_000_000_000
}

/// What a signals answer keeps of a row once it has been merged.
private struct SignalRowFigures {
    var requests: Int
    var errors: Int
    var errorTypes: [String: Int]
    var latency: QueryAPI.Percentiles?
    var failureLatency: QueryAPI.Percentiles?
    var series: [Int]
    var errorSeries: [Int]

    static func percentiles(_ sketch: LatencySketch) -> QueryAPI.Percentiles? {
        guard let values = sketch.quantiles([0.5, 0.9, 0.99, 0.999]) else { return nil }
        return QueryAPI.Percentiles(p50: values[0], p90: values[1], p99: values[2], p999: values[3])
    }
}

extension RollupSource {
    /// Traffic, errors, latency and saturation per service (or operation) over a range, from
    /// rollups only: a 30-day question reads about fifty bucket rows per partition range.
    func goldenSignals(_ query: SignalsQuery) throws -> QueryAPI.Signals {
        // A range wider than the data (start=0, an end centuries ahead) is cut to the days stored,
        // so the series cannot have more points than the retention has days, hours or minutes.
        // A range that misses the stored days altogether is answered as asked, with nothing in it
        // (cut to the days, it became a minute of another day).
        var query = query
        var covered = true
        if let stored = storedTimeRange {
            if query.startUnixNano > stored.upperBound || query.endUnixNano < stored.lowerBound {
                covered = false
            } else {
                query.startUnixNano = max(query.startUnixNano, stored.lowerBound)
                query.endUnixNano = max(query.startUnixNano, min(query.endUnixNano, stored.upperBound))
            }
        }
        let start = query.startUnixNano / 60_000_000_000 * 60_000_000_000
        let end = max(start + 60_000_000_000, (query.endUnixNano + 59_999_999_999) / 60_000_000_000 * 60_000_000_000)
        let span = end - start
        let seriesResolution: Resolution = span >= 10 * Resolution.day.nanos ? .day : span >= 10 * Resolution.hour.nanos ? .hour : .minute
        let firstSeriesBucket = seriesResolution.bucket(start)
        let seriesCount = Int((Int64(end / 1_000_000_000) - firstSeriesBucket + Int64(seriesResolution.rawValue) - 1) / Int64(seriesResolution.rawValue))
        let wanted: RequestBucket.Entries = query.byOperation ? .operations : .services

        // The buckets' bytes one after another, each with its step of the sparkline and its
        // partition (whose numbers it uses for names). Buckets are no coarser than the step, so
        // each one falls in a single step.
        var arena = [UInt8]()
        var buckets = [(step: Int, bytes: Range<Int>, partition: Int)]()
        var partitionNumbers = [PartitionDay: Int]()
        var partitionNames = [RollupNames]()
        for (resolution, first, last) in Resolution.cover(startUnixNano: start, endUnixNano: end, coarsest: seriesResolution) where covered && last >= first {
            for stored in try rollupBuckets(.requests, resolution: resolution, buckets: first...last) {
                let number = partitionNumbers[stored.shard] ?? partitionNames.count
                for (bucket, range) in stored.buckets {
                    let step = Int((bucket - firstSeriesBucket) / Int64(seriesResolution.rawValue))
                    guard (0..<seriesCount).contains(step) else { continue }
                    buckets.append((step, arena.count..<(arena.count + range.count), number))
                    arena.append(contentsOf: stored.bytes[range])
                }
                if number == partitionNames.count {
                    partitionNumbers[stored.shard] = number
                    partitionNames.append(stored.names)
                } else {
                    partitionNames[number] = stored.names
                }
            }
        }
        // Each row is merged from all its entries in one go, so its sketches stay in the cache
        // (bucket by bucket, every bucket would touch every row's sketches), and only its
        // figures are kept.
        var rowIndex = SignalRowIndex(partitions: partitionNames)
        // The number of the service asked about, in each partition (-1: not there).
        let serviceNumbers = partitionNames.map { names in query.service.map { names.number(of: $0) ?? -1 } }
        var figures = [SignalRowFigures]()
        arena.withUnsafeBytes { arena in
            var entries = [(row: Int, bucket: Int, bytes: Range<Int>)]()
            for (number, bucket) in buckets.enumerated() {
                let service = serviceNumbers[bucket.partition]
                if service == -1 { continue }
                // A damaged bucket counts up to the point of damage.
                try? RequestBucket.forEach(in: UnsafeRawBufferPointer(rebasing: arena[bucket.bytes]), entries: wanted, service: service) { (service, operation, reader) throws(DamagedRollupData) in
                    guard let base = arena.baseAddress, let entry = reader.bytes.baseAddress else { return }
                    let offset = base.distance(to: entry)
                    let row = try rowIndex.index(partition: bucket.partition, service: service, operation: operation)
                    entries.append((row, number, offset..<(offset + reader.bytes.count)))
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
                var errorSeries = [Int](repeating: 0, count: seriesCount)
                for entry in byRow[first[row]..<first[row + 1]] {
                    var reader = RollupByteReader(UnsafeRawBufferPointer(rebasing: arena[entry.bytes]))
                    let (requestsBefore, errorsBefore) = (aggregate.requests, aggregate.errors)
                    try? aggregate.merge(from: &reader)
                    series[buckets[entry.bucket].step] &+= aggregate.requests &- requestsBefore
                    errorSeries[buckets[entry.bucket].step] &+= aggregate.errors &- errorsBefore
                }
                figures.append(SignalRowFigures(
                    requests: aggregate.requests, errors: aggregate.errors, errorTypes: aggregate.errorTypes,
                    latency: SignalRowFigures.percentiles(aggregate.ok), failureLatency: SignalRowFigures.percentiles(aggregate.failed), series: series,
                    errorSeries: errorSeries))
            }
        }
        let seconds = Double(span) / 1e9
        let saturation = try latestSaturation(services: Set(rowIndex.keys.map(\.service)), start: start, end: end)
        var chosen = Array(rowIndex.keys.indices)
        if chosen.count > query.limit {
            chosen.sort { (figures[$0].requests, rowIndex.keys[$1]) > (figures[$1].requests, rowIndex.keys[$0]) }
            chosen.removeSubrange(query.limit...)
        }
        let rows = chosen.sorted { rowIndex.keys[$0] < rowIndex.keys[$1] }.map { index -> QueryAPI.SignalRow in
            let key = rowIndex.keys[index]
            let row = figures[index]
            return QueryAPI.SignalRow(
                service: key.service, operation: key.operation.isEmpty ? nil : key.operation,
                requests: row.requests, requestsPerSecond: Double(row.requests) / seconds,
                errors: row.errors, errorRatio: row.requests > 0 ? Double(row.errors) / Double(row.requests) : 0,
                errorTypes: row.errorTypes, latency: row.latency, failureLatency: row.failureLatency,
                saturation: saturation[key.service], series: row.series, errorSeries: row.errorSeries)
        }
        return QueryAPI.Signals(
            startTimeUnixNano: start, endTimeUnixNano: end, seriesStepSeconds: seriesResolution.rawValue, rows: rows,
            totalRows: rowIndex.keys.count)
    }

    /// Per service, the highest of the newest value of each saturation gauge in the range's
    /// last `saturationLookback`: the gauges are raw points (one per scrape), and looking
    /// through a month of them for a service that sends none read every one on each question.
    private func latestSaturation(services: Set<String>, start: UInt64, end: UInt64) throws -> [String: Double] {
        var out = [String: Double]()
        let recent = max(start, end > SignalsQuery.saturationLookback ? end - SignalsQuery.saturationLookback : 0)
        for point in try newestGaugePoints(names: SignalsQuery.saturationGauges, from: recent, to: end) where services.contains(point.service) {
            out[point.service] = max(out[point.service] ?? point.value, point.value)
        }
        return out
    }
}

/// The rows of a signals answer, found from the name numbers of each stored entry (a 30-day
/// question reads ~60,000 entries): each partition's numbers are mapped to names once, and a
/// row is found by its pair of name indices in an `IntegerMap`, not by hashing two strings.
private struct SignalRowIndex {
    struct Key: Hashable, Comparable {
        var service: String
        var operation: String

        static func < (lhs: Key, rhs: Key) -> Bool { (lhs.service, lhs.operation) < (rhs.service, rhs.operation) }
    }

    /// Row n's key; rows are numbered in the order they were first seen.
    private(set) var keys: [Key] = []
    private let partitions: [RollupNames]
    private var names = NameTable()
    /// Per partition, each name number's index in `names` (-1 until first seen).
    private var nameIndices: [[Int32]]
    private var rows = IntegerMap<Int32>()

    init(partitions: [RollupNames]) {
        self.partitions = partitions
        nameIndices = partitions.map { [Int32](repeating: -1, count: $0.names.count) }
    }

    /// The row of an entry of a bucket in `partition`; `keys.count` before the call when it is a new row.
    mutating func index(partition: Int, service: Int, operation: Int) throws(DamagedRollupData) -> Int {
        let key = IntegerMap<Int32>.key(try nameIndex(partition, service), try nameIndex(partition, operation))
        if let row = rows.index(key, insertingIfAbsent: Int32(keys.count)) { return Int(row) }
        keys.append(Key(service: partitions[partition].names[service], operation: partitions[partition].names[operation]))
        return keys.count - 1
    }

    /// A number the partition has no name for is damage.
    private mutating func nameIndex(_ partition: Int, _ number: Int) throws(DamagedRollupData) -> Int32 {
        guard nameIndices[partition].indices.contains(number) else { throw DamagedRollupData() }
        if nameIndices[partition][number] < 0 { nameIndices[partition][number] = names.index(partitions[partition].names[number]) }
        return nameIndices[partition][number]
    }
}
