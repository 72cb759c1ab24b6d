/// The requests of one (service, operation) in a rollup bucket or a queried range: counts,
/// latency of successes and of failures kept apart (DESIGN §6), and failures by error type.
struct RequestAggregate: Equatable, Sendable {
    var requests = 0
    var errors = 0
    var ok = LatencySketch()
    var failed = LatencySketch()
    var errorTypes: [String: Int] = [:]

    /// One request, its latency bucket computed once for every aggregate it goes to.
    @inline(__always)
    mutating func add(latencyBucket: Int32, errorType: String?) {
        requests += 1
        guard let errorType else {
            ok.add(bucket: latencyBucket)
            return
        }
        errors += 1
        failed.add(bucket: latencyBucket)
        errorTypes[errorType, default: 0] += 1
    }

    /// Empties the aggregate, keeping its storage for the next one.
    mutating func removeAll() {
        requests = 0
        errors = 0
        ok.removeAll()
        failed.removeAll()
        errorTypes.removeAll(keepingCapacity: true)
    }

    mutating func merge(_ other: RequestAggregate) {
        requests += other.requests
        errors += other.errors
        ok.merge(other.ok)
        failed.merge(other.failed)
        for (type, count) in other.errorTypes { errorTypes[type, default: 0] += count }
    }

    // MARK: - Storage

    /// Requests, errors, the two sketches, then the error types (name, count) by name.
    func append(to out: inout [UInt8]) {
        Varint.append(UInt64(requests), to: &out)
        Varint.append(UInt64(errors), to: &out)
        ok.append(to: &out)
        failed.append(to: &out)
        Self.append(errorTypes: errorTypes, to: &out)
    }

    static func append(errorTypes: [String: Int], to out: inout [UInt8]) {
        Varint.append(UInt64(errorTypes.count), to: &out)
        guard !errorTypes.isEmpty else { return }
        for type in errorTypes.keys.sorted() {
            Varint.append(type, to: &out)
            Varint.append(UInt64(errorTypes[type]!), to: &out)
        }
    }

    /// Adds a stored aggregate (see `append(to:)`) straight from its bytes.
    mutating func merge(from reader: inout RollupByteReader) throws(DamagedRollupData) {
        requests &+= Int(truncatingIfNeeded: try reader.varint())
        errors &+= Int(truncatingIfNeeded: try reader.varint())
        try ok.merge(from: &reader)
        try failed.merge(from: &reader)
        for _ in 0..<(try reader.count()) {
            let type = try reader.string()
            errorTypes[type, default: 0] &+= Int(truncatingIfNeeded: try reader.varint())
        }
    }
}
