import PeriscopeTelemetry

/// Journal entries gathered for one write of the rollup buckets — every minute, hour and day
/// they touch. Requests are kept as flat records (a request costs one key lookup); encoding
/// groups them by (service, operation) in name order and each group by minute, then walks the
/// groups once, writing every aggregate straight into its bucket's bytes: no lookup per
/// request and bucket, no sketch built in memory.
/// Buckets that already hold data are merged with their stored bytes afterwards
/// (`RequestBucket.merge`).
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

    /// Every name in the journal entries and stored SLO buckets; "" (the service's own entry) is 0.
    private var names = NameTable(indexing: [""])
    /// (service, operation) name indices → index into `keys`.
    private var keyIndices = IndexMap()
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
    private var sloIndices = IndexMap()
    private var sloNames: [Int32] = []
    private var sloCounts: [SLOCounts] = []

    var isEmpty: Bool { requestKeys.isEmpty && sloBucketIDs.isEmpty }
    var requestCount: Int { requestKeys.count }

    private mutating func keyIndex(_ key: Key) -> Int32 {
        if let index = keyIndices.index(IndexMap.key(key.service, key.operation), insertingIfAbsent: Int32(keys.count)) { return index }
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
        if let index = sloIndices.index(IndexMap.key(bucket, slo), insertingIfAbsent: Int32(sloCounts.count)) {
            sloCounts[Int(index)].add(counts)
            return
        }
        sloOfBucket[Int(bucket)].append(Int32(sloCounts.count))
        sloNames.append(slo)
        sloCounts.append(counts)
    }

    /// Adds one journal entry: its requests, and each SLO count to its minute, hour and day.
    mutating func add(_ deltas: RollupDeltas) {
        let ids = deltas.names.map { names.index($0) }
        for request in deltas.requests {
            requestKeys.append(keyIndex(Key(service: ids[Int(request.service)], operation: ids[Int(request.operation)])))
            minutes.append(request.minute)
            latencies.append(LatencySketch.bucket(request.durationNanos))
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

    /// Each request bucket's bytes (see `RequestBucket`) for these requests alone.
    func encodedRequestBuckets() -> [(id: BucketID, bytes: [UInt8])] {
        let rank = nameRanks()
        // Keys in (service, operation) name order; requests grouped by key in that order (a
        // counting sort), so each service's requests are contiguous too.
        let order = keys.indices.sorted {
            (rank[Int(keys[$0].service)], rank[Int(keys[$0].operation)]) < (rank[Int(keys[$1].service)], rank[Int(keys[$1].operation)])
        }
        var position = [Int](repeating: 0, count: keys.count)
        for (index, key) in order.enumerated() { position[key] = index }
        var first = [Int](repeating: 0, count: keys.count + 1)
        for key in requestKeys { first[position[Int(key)] + 1] += 1 }
        for index in keys.indices { first[index + 1] += first[index] }
        var members = [Int32](repeating: 0, count: requestKeys.count)
        var next = first
        for (request, key) in requestKeys.enumerated() {
            members[next[position[Int(key)]]] = Int32(request)
            next[position[Int(key)]] += 1
        }
        let columns = RequestColumns(
            keys: requestKeys, keyOperations: keys.map(\.operation), minutes: minutes, latencies: latencies, errorTypes: errorTypes,
            names: names.names)
        var buckets = BucketWriters()
        var scratch = RequestColumns.Scratch()
        var byMinute = [Int32]()
        members.withUnsafeMutableBufferPointer { members in
            var start = 0
            while start < order.count {
                let service = keys[order[start]].service
                var end = start
                while end < order.count && keys[order[end]].service == service { end += 1 }
                // The service's own entries first: all its requests, by minute.
                byMinute.removeAll(keepingCapacity: true)
                byMinute.append(contentsOf: members[first[start]..<first[end]])
                byMinute.withUnsafeMutableBufferPointer { requests in
                    columns.sortByMinute(&requests, using: &scratch.sorter)
                    columns.write(UnsafeBufferPointer(requests), service: service, operation: 0, to: &buckets, scratch: &scratch)
                }
                // Then each operation's (requests without a name count for the service only).
                for index in start..<end where keys[order[index]].operation != 0 {
                    var requests = UnsafeMutableBufferPointer(rebasing: members[first[index]..<first[index + 1]])
                    columns.sortByMinute(&requests, using: &scratch.sorter)
                    columns.write(UnsafeBufferPointer(requests), service: service, operation: keys[order[index]].operation, to: &buckets, scratch: &scratch)
                }
                start = end
            }
        }
        return buckets.finish()
    }

    /// Each SLO bucket's bytes (see `SLOBucket`).
    func encodedSLOBuckets() -> [(id: BucketID, bytes: [UInt8])] {
        sloBucketIDs.indices.map { bucket in
            let counts = sloOfBucket[bucket].map { (slo: names[sloNames[Int($0)]], counts: sloCounts[Int($0)]) }
            return (sloBucketIDs[bucket], SLOBucket.encode(counts.sorted { $0.slo < $1.slo }))
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

/// The request buckets being written, each opening a service's section when it first gets
/// one of its entries (services arrive in name order, each service's entries in order).
private struct BucketWriters {
    /// (resolution, start in units of the resolution) → index into `writers`.
    private var indices = IndexMap()
    private var ids: [RollupAggregation.BucketID] = []
    private var writers: [RequestBucket.Writer] = []
    private var sections: [Int32] = []

    /// `serviceName` and `operation` as `RequestBucket.Writer.name(_:)` encodes them.
    mutating func entry(_ id: RollupAggregation.BucketID, service: Int32, serviceName: [UInt8], operation: [UInt8], _ writeAggregate: (inout [UInt8]) -> Void) {
        let index: Int
        let key = IndexMap.key(Int32(id.resolution.rawValue), Int32(truncatingIfNeeded: id.start / Int64(id.resolution.rawValue)))
        if let existing = indices.index(key, insertingIfAbsent: Int32(writers.count)) {
            index = Int(existing)
        } else {
            index = writers.count
            ids.append(id)
            writers.append(RequestBucket.Writer())
            sections.append(-1)
        }
        if sections[index] != service {
            writers[index].section(serviceName)
            sections[index] = service
        }
        writers[index].entry(operation, writeAggregate)
    }

    mutating func finish() -> [(id: RollupAggregation.BucketID, bytes: [UInt8])] {
        ids.indices.map { (ids[$0], writers[$0].finish()) }
    }
}

/// The requests of an aggregation by column, for encoding: a class, so the closures that write
/// each aggregate capture one reference rather than copies of every column.
private final class RequestColumns {
    let keys: [Int32]
    /// Each key's operation name index (0: none).
    let keyOperations: [Int32]
    let minutes: [Int64]
    let latencies: [Int32]
    let errorTypes: [Int32]
    let names: [String]
    /// Each name as a bucket stores it.
    let encodedNames: [[UInt8]]

    init(keys: [Int32], keyOperations: [Int32], minutes: [Int64], latencies: [Int32], errorTypes: [Int32], names: [String]) {
        self.keys = keys
        self.keyOperations = keyOperations
        self.minutes = minutes
        self.latencies = latencies
        self.errorTypes = errorTypes
        self.names = names
        encodedNames = names.map(RequestBucket.Writer.name)
    }

    /// Requests arrive mostly in time order, so an operation's often need no sorting.
    func sortByMinute(_ requests: inout UnsafeMutableBufferPointer<Int32>, using sorter: inout CountingSort) {
        var sorted = true
        for position in requests.indices.dropFirst() where minutes[Int(requests[position - 1])] > minutes[Int(requests[position])] {
            sorted = false
            break
        }
        if sorted { return }
        minutes.withUnsafeBufferPointer { minutes in
            sorter.sort(&requests, span: 4 * requests.count + 1440) { minutes[Int($0)] / 60 }
        }
    }

    /// Writes the aggregates of one (service, operation) — its requests sorted by minute — to
    /// their minute, hour and day buckets. A service's entry is left out where its requests are
    /// all one operation's: that operation's entry, written next, stands for it.
    func write(_ requests: UnsafeBufferPointer<Int32>, service: Int32, operation: Int32, to buckets: inout BucketWriters, scratch: inout Scratch) {
        for resolution in Resolution.allCases {
            var runStart = 0
            while runStart < requests.count {
                let start = resolution.bucket(seconds: minutes[Int(requests[runStart])])
                var runEnd = runStart + 1
                while runEnd < requests.count && resolution.bucket(seconds: minutes[Int(requests[runEnd])]) == start { runEnd += 1 }
                let run = UnsafeBufferPointer(rebasing: requests[runStart..<runEnd])
                runStart = runEnd
                if operation == 0 && isOneOperation(run) { continue }
                buckets.entry(RollupAggregation.BucketID(resolution: resolution, start: start), service: service, serviceName: encodedNames[Int(service)], operation: encodedNames[Int(operation)]) { out in
                    appendAggregate(of: run, to: &out, scratch: &scratch)
                }
            }
        }
    }

    private func isOneOperation(_ requests: UnsafeBufferPointer<Int32>) -> Bool {
        let key = keys[Int(requests[0])]
        guard keyOperations[Int(key)] != 0 else { return false }
        return requests.allSatisfy { keys[Int($0)] == key }
    }

    /// Buffers reused across aggregates.
    struct Scratch {
        var ok: [Int32] = []
        var failed: [Int32] = []
        var sorter = CountingSort()
    }

    /// The bytes `RequestAggregate.append(to:)` writes for an aggregate of just these requests.
    func appendAggregate(of requests: UnsafeBufferPointer<Int32>, to out: inout [UInt8], scratch: inout Scratch) {
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
                types[names[Int(type)], default: 0] += 1
            }
        }
        LatencySketch.sort(buckets: &scratch.ok, using: &scratch.sorter)
        LatencySketch.sort(buckets: &scratch.failed, using: &scratch.sorter)
        Varint.append(UInt64(requests.count), to: &out)
        Varint.append(UInt64(scratch.failed.count), to: &out)
        scratch.ok.withUnsafeBufferPointer { LatencySketch.append(sortedBuckets: $0, to: &out) }
        scratch.failed.withUnsafeBufferPointer { LatencySketch.append(sortedBuckets: $0, to: &out) }
        RequestAggregate.append(errorTypes: types, to: &out)
    }
}
