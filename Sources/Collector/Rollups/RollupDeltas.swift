import PeriscopeOTLP

/// What one batch adds to the rollups: each request span as a small record (service,
/// operation, minute, latency bucket, error type) and good/total counts per (SLO, minute). A span
/// batch's deltas are kept by its partition until the next flush (the span blocks are their
/// journal); a metric batch's ratio-SLO increments go to the rollup journal in the batch's own
/// transaction. `RollupWriter` aggregates many batches' records into the bucket rows at once.
/// Records rather than per-batch sketches keep ingest to a few values per span.
struct RollupDeltas: Equatable, Sendable {
    /// One request span; its names are indices into `names`.
    struct Request: Equatable, Sendable {
        var service: Int32
        var operation: Int32
        /// The start of the span's minute, Unix seconds.
        var minute: Int64
        /// `LatencySketch.bucket` of the duration: two varint bytes in the journal, where
        /// the duration takes four or five.
        var latencyBucket: Int32
        /// `nil` for a success.
        var errorType: Int32?
    }

    struct SLOKey: Hashable, Sendable {
        /// An index into `names`.
        var slo: Int32
        var minute: Int64
    }

    /// Service, operation, error type and SLO names, each once.
    private var table = NameTable()
    private(set) var requests: [Request] = []
    private(set) var slo: [SLOKey: SLOCounts] = [:]

    var names: [String] { table.names }
    var isEmpty: Bool { requests.isEmpty && slo.isEmpty }

    init() {}

    /// Requests whose operation was folded into `OperationLimit.overflowName`.
    private(set) var foldedRequests = 0

    /// The requests among `stored` (server and consumer spans, DESIGN §6) and their verdicts
    /// for every latency SLO; with `operations`, names past its limit fold into its overflow row.
    init(spans stored: StoredSpans, objectives: [ServiceLevelObjective], operations: OperationLimit? = nil) {
        // Per resource, its service's name index and latency SLOs, looked up when first needed.
        var serviceOfResource = [Int32](repeating: -1, count: stored.services.count)
        var objectivesOfResource = [[(objective: ServiceLevelObjective, name: Int32)]](repeating: [], count: stored.services.count)
        // Each span is read in place, field by field: a span passed on whole is copied first,
        // retaining every field.
        for position in stored.spans.indices {
            guard RequestClassification.isRequest(stored.spans[position].span.kind) else { continue }
            let resource = stored.spans[position].resource
            if serviceOfResource[resource] < 0 {
                let service = stored.services[resource]
                serviceOfResource[resource] = table.index(service)
                objectivesOfResource[resource] = objectives.filter { $0.judgesSpans(of: service) }.map { ($0, table.index($0.name)) }
            }
            let minute = Resolution.minute.bucket(stored.spans[position].span.startTimeUnixNano)
            let errorType = RequestClassification.errorType(
                kind: stored.spans[position].span.kind, status: stored.spans[position].span.status.code,
                attributes: stored.spans[position].span.attributes, events: stored.spans[position].span.events)
            let name = stored.spans[position].span.name
            let duration = stored.spans[position].span.durationNanos
            requests.append(Request(
                service: serviceOfResource[resource], operation: table.index(name), minute: minute,
                latencyBucket: LatencySketch.bucket(duration), errorType: errorType.map { table.index($0) }))
            for (objective, sloName) in objectivesOfResource[resource] {
                guard let good = objective.isGood(operation: name, durationNanos: duration) else { continue }
                slo[SLOKey(slo: sloName, minute: minute), default: SLOCounts()].add(SLOCounts(total: 1, good: good ? 1 : 0))
            }
        }
        if let operations, !requests.isEmpty { fold(into: operations) }
    }

    /// Renames operations past the limit, once per distinct (service, operation) of the batch.
    private mutating func fold(into limit: OperationLimit) {
        var renamed = [Int64: Int32]()
        for index in requests.indices {
            let key = Int64(requests[index].service) << 32 | Int64(requests[index].operation)
            let operation: Int32
            if let known = renamed[key] {
                operation = known
            } else {
                let names = table.names
                let name = limit.name(service: names[Int(requests[index].service)], operation: names[Int(requests[index].operation)])
                operation = name == names[Int(requests[index].operation)] ? requests[index].operation : table.index(name)
                renamed[key] = operation
            }
            if operation != requests[index].operation {
                requests[index].operation = operation
                foldedRequests += 1
            }
        }
    }

    /// Ratio SLOs: increments of their good and total counters.
    init(ratioIncrements: [(slo: String, minute: Int64, good: Double, total: Double)]) {
        for increment in ratioIncrements {
            let key = SLOKey(slo: table.index(increment.slo), minute: increment.minute)
            slo[key, default: SLOCounts()].good += increment.good
            slo[key, default: SLOCounts()].total += increment.total
        }
    }

    // MARK: - Journal encoding

    /// The names, then per request its name indices, its minute as a difference to the
    /// previous one (in minutes), its latency bucket (zigzag, -1 for the zero bucket) and error
    /// type + 1 (0: success), then the SLO counts; read back by `init(encoded:)`.
    var encoded: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(16 + names.count * 12 + requests.count * 10 + slo.count * 20)
        Varint.append(UInt64(names.count), to: &out)
        for name in names { Varint.append(name, to: &out) }
        Varint.append(UInt64(requests.count), to: &out)
        var previousMinute: Int64 = 0
        for request in requests {
            Varint.append(UInt64(request.service), to: &out)
            Varint.append(UInt64(request.operation), to: &out)
            Varint.append(signed: (request.minute - previousMinute) / 60, to: &out)
            previousMinute = request.minute
            Varint.append(signed: request.latencyBucket == LatencySketch.zeroBucket ? -1 : Int64(request.latencyBucket), to: &out)
            Varint.append(request.errorType.map { UInt64($0) + 1 } ?? 0, to: &out)
        }
        Varint.append(UInt64(slo.count), to: &out)
        for (key, counts) in slo {
            Varint.append(UInt64(key.slo), to: &out)
            Varint.append(signed: key.minute / 60, to: &out)
            Varint.append(counts.total, to: &out)
            Varint.append(counts.good, to: &out)
        }
        return out
    }

    init(encoded bytes: UnsafeRawBufferPointer) throws(DamagedRollupData) {
        var reader = RollupByteReader(bytes)
        var names = [String]()
        let nameCount = try reader.count()
        names.reserveCapacity(nameCount)
        for _ in 0..<nameCount { names.append(try reader.string()) }
        table = NameTable(readBack: names)
        func nameIndex(_ value: UInt64) throws(DamagedRollupData) -> Int32 {
            guard value < UInt64(names.count) else { throw DamagedRollupData() }
            return Int32(value)
        }
        /// Minutes since 1970 fit in 40 bits for the next two million years; more is damage.
        func minute(_ minutes: Int64) throws(DamagedRollupData) -> Int64 {
            guard (0..<(1 << 40)).contains(minutes) else { throw DamagedRollupData() }
            return minutes * 60
        }
        let requestCount = try reader.count()
        requests.reserveCapacity(requestCount)
        var minutes: Int64 = 0
        for _ in 0..<requestCount {
            let service = try nameIndex(try reader.varint())
            let operation = try nameIndex(try reader.varint())
            let step = try reader.signed()
            guard step > -(1 << 40), step < 1 << 40 else { throw DamagedRollupData() }
            minutes += step
            let bucket = try reader.signed()
            guard bucket == -1 || LatencySketch.validBuckets.contains(bucket) else { throw DamagedRollupData() }
            let error = try reader.varint()
            requests.append(Request(
                service: service, operation: operation, minute: try minute(minutes),
                latencyBucket: bucket == -1 ? LatencySketch.zeroBucket : Int32(bucket),
                errorType: error == 0 ? nil : try nameIndex(error - 1)))
        }
        for _ in 0..<(try reader.count()) {
            let key = SLOKey(slo: try nameIndex(try reader.varint()), minute: try minute(try reader.signed()))
            slo[key, default: SLOCounts()].total += try reader.double()
            slo[key, default: SLOCounts()].good += try reader.double()
        }
        guard reader.isAtEnd else { throw DamagedRollupData() }
    }

    init(encoded bytes: [UInt8]) throws(DamagedRollupData) {
        self = try RollupByteReader.reading(bytes) { (raw) throws(DamagedRollupData) in try RollupDeltas(encoded: raw) }
    }
}
