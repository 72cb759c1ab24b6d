import PeriscopeOTLP

/// Batches' deltas gathered for one write of the rollup buckets — every minute, hour and day
/// they touch. Requests are kept as flat records (a request costs one key lookup); encoding
/// sorts them by (service, operation) in number order, then for each resolution by bucket
/// (stable counting sorts), and writes each bucket in one go, every aggregate straight into
/// its bytes: no lookup per request and bucket, no sketch built in memory.
/// Buckets that already hold data are merged with their stored bytes afterwards
/// (`RequestBucket.merge`).
struct RollupAggregation {
    struct BucketID: Hashable {
        var resolution: Resolution
        /// Unix seconds.
        var start: Int64
    }

    /// A (service, operation) by name index (when encoding, by `RollupNames` number); operation 0
    /// (the name "") is the whole service.
    struct Key: Hashable {
        var service: Int32
        var operation: Int32
    }

    /// Every name in the deltas and stored SLO buckets; "" (the service's own entry) is 0.
    private var names = NameTable(indexing: [""])
    /// (service, operation) name indices → index into `keys`.
    private var keyIndices = IntegerMap<Int32>()
    private var keys: [Key] = []
    /// Per request: its key, minute (Unix seconds), latency bucket and error type (a name
    /// index, -1 for a success).
    private var requestKeys: [Int32] = []
    private var minutes: [Int64] = []
    private var latencies: [Int32] = []
    private var errorTypes: [Int32] = []
    /// SLO counts by (bucket, SLO name index): the buckets, and per bucket its counts.
    private var sloBucketIndices: [BucketID: Int32] = [:]
    private var sloBucketIDs: [BucketID] = []
    private var sloOfBucket: [[Int32]] = []
    private var sloIndices = IntegerMap<Int32>()
    private var sloNames: [Int32] = []
    private var sloCounts: [SLOCounts] = []

    var isEmpty: Bool { requestKeys.isEmpty && sloBucketIDs.isEmpty }
    var requestCount: Int { requestKeys.count }

    private mutating func keyIndex(_ key: Key) -> Int32 {
        if let index = keyIndices.index(IntegerMap<Int32>.key(key.service, key.operation), insertingIfAbsent: Int32(keys.count)) { return index }
        keys.append(key)
        return Int32(keys.count - 1)
    }

    private mutating func sloBucket(_ id: BucketID) -> Int32 {
        if let index = sloBucketIndices[id] { return index }
        let index = Int32(sloBucketIDs.count)
        sloBucketIDs.append(id)
        sloOfBucket.append([])
        sloBucketIndices[id] = index
        return index
    }

    private mutating func addSLO(bucket: Int32, slo: Int32, _ counts: SLOCounts) {
        if let index = sloIndices.index(IntegerMap<Int32>.key(bucket, slo), insertingIfAbsent: Int32(sloCounts.count)) {
            sloCounts[Int(index)].add(counts)
            return
        }
        sloOfBucket[Int(bucket)].append(Int32(sloCounts.count))
        sloNames.append(slo)
        sloCounts.append(counts)
    }

    /// Adds one batch's deltas: its requests, and each SLO count to its minute, hour and day.
    mutating func add(_ deltas: RollupDeltas) {
        let ids = deltas.names.map { names.index($0) }
        for request in deltas.requests {
            requestKeys.append(keyIndex(Key(service: ids[Int(request.service)], operation: ids[Int(request.operation)])))
            minutes.append(request.minute)
            latencies.append(request.latencyBucket)
            errorTypes.append(request.errorType.map { ids[Int($0)] } ?? -1)
        }
        for (key, counts) in deltas.slo {
            for resolution in Resolution.allCases {
                let id = BucketID(resolution: resolution, start: resolution.bucket(seconds: key.minute))
                addSLO(bucket: sloBucket(id), slo: ids[Int(key.slo)], counts)
            }
        }
    }

    /// The buckets with SLO counts.
    var sloBuckets: [BucketID] { sloBucketIDs }

    /// Adds what an SLO bucket already held. Nothing is added if the bytes are damaged.
    mutating func mergeStored(slo bytes: UnsafeRawBufferPointer, into id: BucketID) throws(DamagedRollupData) {
        var entries = [(slo: String, counts: SLOCounts)]()
        try SLOBucket.forEach(in: bytes) { (slo, counts) throws(DamagedRollupData) in
            entries.append((String(decoding: slo, as: UTF8.self), counts))
        }
        let bucket = sloBucket(id)
        for (slo, counts) in entries { addSLO(bucket: bucket, slo: names.index(slo), counts) }
    }

    /// Each request bucket's bytes (see `RequestBucket`) for these requests alone. `number`
    /// gives each service and operation name its number in the buckets (`RollupNames`); it is
    /// asked in name order, so a flush numbers new names in that order.
    func encodedRequestBuckets(numbering number: (String) throws -> Int32) rethrows -> [(id: BucketID, bytes: [UInt8])] {
        var numbers = [Int32](repeating: -1, count: names.names.count)
        var used = Set<Int32>()
        for key in keys {
            used.insert(key.service)
            used.insert(key.operation)
        }
        for index in used.sorted(by: { names[$0] < names[$1] }) { numbers[Int(index)] = try number(names[index]) }
        let keyOrder = keys.indices.sorted {
            (numbers[Int(keys[$0].service)], numbers[Int(keys[$0].operation)]) < (numbers[Int(keys[$1].service)], numbers[Int(keys[$1].operation)])
        }
        var keyRank = [Int32](repeating: 0, count: keys.count)
        for (position, key) in keyOrder.enumerated() { keyRank[key] = Int32(position) }
        let encoder = RequestEncoder(
            ranks: requestKeys.map { keyRank[Int($0)] },
            keys: keyOrder.map { Key(service: numbers[Int(keys[$0].service)], operation: numbers[Int(keys[$0].operation)]) },
            minutes: minutes, latencies: latencies, errorTypes: errorTypes, names: names.names)
        // Requests by (service, operation) in number order; for each resolution, then by bucket.
        var scratch = RequestEncoder.Scratch()
        var byKey = Array(0..<Int32(requestKeys.count))
        encoder.ranks.withUnsafeBufferPointer { ranks in
            byKey.withUnsafeMutableBufferPointer { scratch.sorter.sort(&$0, span: ranks.count + 1) { Int64(ranks[Int($0)]) } }
        }
        var buckets = [(id: BucketID, bytes: [UInt8])]()
        for resolution in Resolution.allCases {
            var order = byKey
            order.withUnsafeMutableBufferPointer { order in
                minutes.withUnsafeBufferPointer { minutes in
                    scratch.sorter.sort(&order, span: 4 * order.count + 1440) { minutes[Int($0)] / Int64(resolution.rawValue) }
                }
                encoder.write(UnsafeBufferPointer(order), resolution: resolution, to: &buckets, scratch: &scratch)
            }
        }
        return buckets
    }

    /// Each SLO bucket's bytes (see `SLOBucket`).
    func encodedSLOBuckets() -> [(id: BucketID, bytes: [UInt8])] {
        sloBucketIDs.indices.map { bucket in
            let counts = sloOfBucket[bucket].map { (slo: names[sloNames[Int($0)]], counts: sloCounts[Int($0)]) }
            return (sloBucketIDs[bucket], SLOBucket.encode(counts.sorted { $0.slo < $1.slo }))
        }
    }
}

/// The requests of an aggregation by column, encoding them into buckets.
private final class RequestEncoder {
    /// Per request: its key's position in (service, operation) number order, which indexes `keys`.
    let ranks: [Int32]
    /// The keys in that order, as the numbers of their names (`RollupNames`).
    let keys: [RollupAggregation.Key]
    let minutes: [Int64]
    let latencies: [Int32]
    let errorTypes: [Int32]
    /// Error type names, by the index requests give.
    let names: [String]

    init(ranks: [Int32], keys: [RollupAggregation.Key], minutes: [Int64], latencies: [Int32], errorTypes: [Int32], names: [String]) {
        self.ranks = ranks
        self.keys = keys
        self.minutes = minutes
        self.latencies = latencies
        self.errorTypes = errorTypes
        self.names = names
    }

    /// Writes the buckets of `resolution`, given the requests ordered by bucket, then by key:
    /// each bucket in one go, its sections and entries in the order they are stored. A
    /// service's entry is left out where its requests are all one operation's: that
    /// operation's entry stands for it.
    func write(
        _ requests: UnsafeBufferPointer<Int32>, resolution: Resolution, to buckets: inout [(id: RollupAggregation.BucketID, bytes: [UInt8])],
        scratch: inout Scratch
    ) {
        let size = Int64(resolution.rawValue)
        // Each position's bucket, key rank and service, side by side for the runs below.
        let bucketAt = requests.map { minutes[Int($0)] / size }
        let rankAt = requests.map { ranks[Int($0)] }
        let serviceAt = rankAt.map { keys[Int($0)].service }
        /// The end of the run from `start` on of equal `values`.
        func run<Value: Equatable>(_ values: [Value], from start: Int, to end: Int) -> Int {
            var position = start + 1
            while position < end && values[position] == values[start] { position += 1 }
            return position
        }
        var bucketStart = 0
        while bucketStart < requests.count {
            let bucketEnd = run(bucketAt, from: bucketStart, to: requests.count)
            var writer = RequestBucket.Writer(capacity: 24 * (bucketEnd - bucketStart))
            var serviceStart = bucketStart
            while serviceStart < bucketEnd {
                let serviceEnd = run(serviceAt, from: serviceStart, to: bucketEnd)
                writer.section(Int(serviceAt[serviceStart]))
                let firstRank = rankAt[serviceStart]
                let oneOperation = keys[Int(firstRank)].operation != 0 && rankAt[serviceEnd - 1] == firstRank
                if !oneOperation {
                    writer.entry(0) { appendAggregate(of: UnsafeBufferPointer(rebasing: requests[serviceStart..<serviceEnd]), to: &$0, scratch: &scratch) }
                }
                var keyStart = serviceStart
                while keyStart < serviceEnd {
                    let rank = rankAt[keyStart]
                    let keyEnd = run(rankAt, from: keyStart, to: serviceEnd)
                    let operation = keys[Int(rank)].operation
                    if operation != 0 {
                        writer.entry(Int(operation)) { appendAggregate(of: UnsafeBufferPointer(rebasing: requests[keyStart..<keyEnd]), to: &$0, scratch: &scratch) }
                    }
                    keyStart = keyEnd
                }
                serviceStart = serviceEnd
            }
            let start = bucketAt[bucketStart] * size
            buckets.append((RollupAggregation.BucketID(resolution: resolution, start: start), writer.finish()))
            bucketStart = bucketEnd
        }
    }

    /// Buffers reused across sorts and aggregates.
    struct Scratch {
        var ok: [Int32] = []
        var failed: [Int32] = []
        var counts: [UInt32] = []
        var sorter = CountingSort()
    }

    /// The bytes `RequestAggregate.append(to:)` writes for an aggregate of just these requests.
    private func appendAggregate(of requests: UnsafeBufferPointer<Int32>, to out: inout [UInt8], scratch: inout Scratch) {
        if requests.count == 1 {
            let type = errorTypes[Int(requests[0])]
            RequestAggregate.append(single: latencies[Int(requests[0])], errorType: type < 0 ? nil : names[Int(type)], to: &out)
            return
        }
        scratch.ok.removeAll(keepingCapacity: true)
        scratch.failed.removeAll(keepingCapacity: true)
        var types = [String: Int]()
        for request in requests {
            let type = errorTypes[Int(request)]
            if type < 0 {
                scratch.ok.append(latencies[Int(request)])
            } else {
                scratch.failed.append(latencies[Int(request)])
                RequestAggregate.count(names[Int(type)], 1, in: &types)
            }
        }
        Varint.append(UInt64(requests.count), to: &out)
        Varint.append(UInt64(scratch.failed.count), to: &out)
        scratch.ok.withUnsafeMutableBufferPointer { LatencySketch.append(buckets: $0, counts: &scratch.counts, sorter: &scratch.sorter, to: &out) }
        scratch.failed.withUnsafeMutableBufferPointer { LatencySketch.append(buckets: $0, counts: &scratch.counts, sorter: &scratch.sorter, to: &out) }
        RequestAggregate.append(errorTypes: types, to: &out)
    }
}
