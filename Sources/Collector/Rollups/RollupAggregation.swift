import PeriscopeTelemetry

/// Journal entries gathered per rollup bucket — every minute, hour and day they touch — then
/// merged with the stored buckets and encoded, one blob per bucket (`RollupWriter`). Each
/// request is kept once, with the aggregates (bucket, service, operation) it belongs to; an
/// aggregate's latency sketch is written straight from its requests' sorted latency buckets, so
/// no sketch is built in memory unless its bucket already held data. Names are interned and
/// lookups go through `IndexMap`: a span costs a few integer lookups and appends.
struct RollupAggregation {
    struct BucketID: Hashable {
        var resolution: Resolution
        /// Unix seconds.
        var start: Int64
    }

    /// A (service, operation) by name index; operation 0 (the name "") is the whole service.
    struct Key: Hashable {
        var service: Int32
        var operation: Int32
    }

    /// Every name in the journal entries and stored buckets; "" (the service's own entry) is 0.
    private var names = NameTable(indexing: [""])
    /// Every bucket touched, with the indices of its aggregates and SLO counts.
    private var buckets: [BucketID] = []
    private var bucketIndices: [BucketID: Int32] = [:]
    private var aggregatesOfBucket: [[Int32]] = []
    private var sloOfBucket: [[Int32]] = []
    /// (service, operation) name indices → index into `keys`.
    private var keyIndices = IndexMap()
    private var keys: [Key] = []
    /// (bucket, key index) → aggregate index; each aggregate's key index.
    private var aggregateIndices = IndexMap()
    private var aggregateKeys: [Int32] = []
    /// What stored rows held (an index into `stored` per aggregate, -1 for none), merged in
    /// when the aggregate is encoded.
    private var storedIndices: [Int32] = []
    private var stored: [RequestAggregate] = []
    /// Each request's latency bucket and error type (a name index, -1 for a success).
    private var latencies: [Int32] = []
    private var errorTypes: [Int32] = []
    /// (aggregate index, request index) for each request in each of its aggregates.
    private var memberships: [(aggregate: Int32, request: Int32)] = []
    /// (bucket, SLO name index) → index into `sloNames` and `sloCounts`.
    private var sloIndices = IndexMap()
    private var sloNames: [Int32] = []
    private var sloCounts: [SLOCounts] = []

    var isEmpty: Bool { buckets.isEmpty }
    var requestCount: Int { latencies.count }

    private mutating func bucket(_ id: BucketID) -> Int32 {
        if let index = bucketIndices[id] { return index }
        let index = Int32(buckets.count)
        buckets.append(id)
        aggregatesOfBucket.append([])
        sloOfBucket.append([])
        bucketIndices[id] = index
        return index
    }

    private mutating func keyIndex(_ key: Key) -> Int32 {
        if let index = keyIndices.index(IndexMap.key(key.service, key.operation), insertingIfAbsent: Int32(keys.count)) { return index }
        keys.append(key)
        return Int32(keys.count - 1)
    }

    private mutating func aggregateIndex(bucket: Int32, key: Int32) -> Int32 {
        let next = Int32(aggregateKeys.count)
        if let index = aggregateIndices.index(IndexMap.key(bucket, key), insertingIfAbsent: next) { return index }
        aggregateKeys.append(key)
        storedIndices.append(-1)
        aggregatesOfBucket[Int(bucket)].append(next)
        return next
    }

    private mutating func addSLO(bucket: Int32, slo: Int32, _ counts: SLOCounts) {
        if let index = sloIndices.index(IndexMap.key(bucket, slo), insertingIfAbsent: Int32(sloCounts.count)) {
            sloCounts[Int(index)].add(counts)
            return
        }
        sloOfBucket[Int(bucket)].append(Int32(sloCounts.count))
        sloNames.append(slo)
        sloCounts.append(counts)
    }

    /// Adds one journal entry: each request to its operation and its service in its minute,
    /// hour and day; each SLO count to the same three buckets.
    mutating func add(_ deltas: RollupDeltas) {
        let ids = deltas.names.map { names.index($0) }
        let resolutions = Resolution.allCases
        // Requests of one batch mostly share their hour and day: remember the last bucket of each resolution.
        var lastStart = [Int64](repeating: -1, count: resolutions.count)
        var lastBucket = [Int32](repeating: 0, count: resolutions.count)
        for request in deltas.requests {
            let index = Int32(latencies.count)
            latencies.append(LatencySketch.bucket(request.durationNanos))
            errorTypes.append(request.errorType.map { ids[Int($0)] } ?? -1)
            let service = ids[Int(request.service)]
            let operation = ids[Int(request.operation)]
            let serviceKey = keyIndex(Key(service: service, operation: 0))
            // A span without a name counts for its service only: "" is the service's own entry.
            let operationKey = operation == 0 ? nil : keyIndex(Key(service: service, operation: operation))
            for position in resolutions.indices {
                let start = resolutions[position].bucket(seconds: request.minute)
                if lastStart[position] != start {
                    lastStart[position] = start
                    lastBucket[position] = bucket(BucketID(resolution: resolutions[position], start: start))
                }
                memberships.append((aggregateIndex(bucket: lastBucket[position], key: serviceKey), index))
                if let operationKey {
                    memberships.append((aggregateIndex(bucket: lastBucket[position], key: operationKey), index))
                }
            }
        }
        for (key, counts) in deltas.slo {
            for resolution in resolutions {
                let id = BucketID(resolution: resolution, start: resolution.bucket(seconds: key.minute))
                addSLO(bucket: bucket(id), slo: ids[Int(key.slo)], counts)
            }
        }
    }

    /// The buckets with request aggregates, and those with SLO counts.
    var requestBuckets: [BucketID] { buckets.indices.filter { !aggregatesOfBucket[$0].isEmpty }.map { buckets[$0] } }
    var sloBuckets: [BucketID] { buckets.indices.filter { !sloOfBucket[$0].isEmpty }.map { buckets[$0] } }

    /// Adds what a request bucket already held (its stored bytes). Nothing is added if they are damaged.
    mutating func mergeStored(requests bytes: UnsafeRawBufferPointer, into id: BucketID) throws(DamagedRollupData) {
        var entries = [(service: String, operation: String, aggregate: RequestAggregate)]()
        try RequestBucket.forEach(in: bytes, entries: .all) { (service, operation, reader) throws(DamagedRollupData) in
            var aggregate = RequestAggregate()
            try aggregate.merge(from: &reader)
            entries.append((String(decoding: service, as: UTF8.self), String(decoding: operation, as: UTF8.self), aggregate))
        }
        let bucket = bucket(id)
        for (service, operation, aggregate) in entries {
            let index = aggregateIndex(bucket: bucket, key: keyIndex(Key(service: names.index(service), operation: names.index(operation))))
            if storedIndices[Int(index)] < 0 {
                storedIndices[Int(index)] = Int32(stored.count)
                stored.append(RequestAggregate())
            }
            stored[Int(storedIndices[Int(index)])].merge(aggregate)
        }
    }

    /// Adds what an SLO bucket already held. Nothing is added if the bytes are damaged.
    mutating func mergeStored(slo bytes: UnsafeRawBufferPointer, into id: BucketID) throws(DamagedRollupData) {
        var entries = [(slo: String, counts: SLOCounts)]()
        try SLOBucket.forEach(in: bytes) { (slo, counts) throws(DamagedRollupData) in
            entries.append((String(decoding: slo, as: UTF8.self), counts))
        }
        let bucket = bucket(id)
        for (slo, counts) in entries { addSLO(bucket: bucket, slo: names.index(slo), counts) }
    }

    /// Each request bucket's bytes (see `RequestBucket`); call after every stored bucket was merged.
    func encodedRequestBuckets() -> [(id: BucketID, bytes: [UInt8])] {
        // The requests of each aggregate, contiguous: a counting sort of the memberships.
        var first = [Int32](repeating: 0, count: aggregateKeys.count + 1)
        for membership in memberships { first[Int(membership.aggregate) + 1] += 1 }
        for index in aggregateKeys.indices { first[index + 1] += first[index] }
        var members = [Int32](repeating: 0, count: memberships.count)
        var next = first
        for membership in memberships {
            members[Int(next[Int(membership.aggregate)])] = membership.request
            next[Int(membership.aggregate)] += 1
        }
        let rank = nameRanks()
        var okBuckets = [Int32]()
        var failedBuckets = [Int32]()
        return buckets.indices.compactMap { bucket in
            guard !aggregatesOfBucket[bucket].isEmpty else { return nil }
            // Services in name order, each with its own entry ("", rank 0) first, then its operations.
            let ordered = aggregatesOfBucket[bucket].map { index in
                let key = keys[Int(aggregateKeys[Int(index)])]
                return (order: UInt64(rank[Int(key.service)]) << 32 | UInt64(rank[Int(key.operation)]), index: Int(index))
            }.sorted { $0.order < $1.order }
            var writer = RequestBucket.Writer(capacity: ordered.count * 24)
            var section: Int32 = -1
            for (_, index) in ordered {
                let key = keys[Int(aggregateKeys[index])]
                if key.service != section {
                    writer.section(names[key.service])
                    section = key.service
                }
                let requests = members[Int(first[index])..<Int(first[index + 1])]
                writer.entry(names[key.operation]) { out in
                    if storedIndices[index] >= 0 {
                        var aggregate = stored[Int(storedIndices[index])]
                        for request in requests {
                            aggregate.add(latencyBucket: latencies[Int(request)], errorType: errorTypes[Int(request)] < 0 ? nil : names[errorTypes[Int(request)]])
                        }
                        aggregate.append(to: &out)
                    } else {
                        appendAggregate(of: requests, to: &out, okBuckets: &okBuckets, failedBuckets: &failedBuckets)
                    }
                }
            }
            return (buckets[bucket], writer.finish())
        }
    }

    /// The bytes `RequestAggregate.append(to:)` writes for an aggregate of just these requests.
    private func appendAggregate(of requests: ArraySlice<Int32>, to out: inout [UInt8], okBuckets: inout [Int32], failedBuckets: inout [Int32]) {
        if requests.count == 1, let request = requests.first {
            let type = errorTypes[Int(request)]
            RequestAggregate.append(single: latencies[Int(request)], errorType: type < 0 ? nil : names[type], to: &out)
            return
        }
        okBuckets.removeAll(keepingCapacity: true)
        failedBuckets.removeAll(keepingCapacity: true)
        var types = [String: Int]()
        for request in requests {
            let type = errorTypes[Int(request)]
            if type < 0 {
                okBuckets.append(latencies[Int(request)])
            } else {
                failedBuckets.append(latencies[Int(request)])
                types[names[type], default: 0] += 1
            }
        }
        okBuckets.sort()
        failedBuckets.sort()
        Varint.append(UInt64(requests.count), to: &out)
        Varint.append(UInt64(failedBuckets.count), to: &out)
        okBuckets.withUnsafeBufferPointer { LatencySketch.append(sortedBuckets: $0, to: &out) }
        failedBuckets.withUnsafeBufferPointer { LatencySketch.append(sortedBuckets: $0, to: &out) }
        RequestAggregate.append(errorTypes: types, to: &out)
    }

    /// Each SLO bucket's bytes (see `SLOBucket`).
    func encodedSLOBuckets() -> [(id: BucketID, bytes: [UInt8])] {
        buckets.indices.compactMap { bucket in
            guard !sloOfBucket[bucket].isEmpty else { return nil }
            let counts = sloOfBucket[bucket].map { (slo: names[sloNames[Int($0)]], counts: sloCounts[Int($0)]) }
            return (buckets[bucket], SLOBucket.encode(counts.sorted { $0.slo < $1.slo }))
        }
    }

    /// Each name's position in sorted order ("" first), so keys sort by integer comparisons.
    private func nameRanks() -> [Int] {
        let names = names.names
        var rank = [Int](repeating: 0, count: names.count)
        for (position, index) in names.indices.sorted(by: { names[$0] < names[$1] }).enumerated() { rank[index] = position }
        return rank
    }
}
