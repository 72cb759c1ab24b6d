import PeriscopeOTLP

/// The requests of one (service, operation) in a rollup bucket or a queried range: counts,
/// latency of successes and of failures kept apart (DESIGN §6), and failures by error type.
struct RequestAggregate: Equatable, Sendable {
    var requests = 0
    var errors = 0
    var ok = LatencySketch()
    var failed = LatencySketch()
    var errorTypes: [String: Int] = [:]

    /// Distinct error types one aggregate keeps; the rest are counted under `otherErrorTypes`.
    /// Error types come from senders (`exception.type`), so their cardinality is bounded here,
    /// as operations are by `OperationLimit`.
    static let maxErrorTypes = 32
    static let otherErrorTypes = "periscope.other_error_types"
    /// Largest request or error count a stored aggregate may hold (2^53: exact as a Double).
    static let maxStoredCount: UInt64 = 1 << 53

    /// Counts `count` failures of `type` in `types`, folding a type past the limit into
    /// `otherErrorTypes`.
    @inline(__always)
    static func count(_ type: String, _ count: Int, in types: inout [String: Int]) {
        // The fold's own key never takes a slot, so reading an aggregate back keeps the same names.
        let named = types.count - (types[otherErrorTypes] == nil ? 0 : 1)
        if types[type] != nil || type == otherErrorTypes || named < maxErrorTypes {
            types[type, default: 0] &+= count
        } else {
            types[otherErrorTypes, default: 0] &+= count
        }
    }

    @inline(__always)
    mutating func countErrors(_ type: String, _ count: Int) {
        Self.count(type, count, in: &errorTypes)
    }

    /// One request, its latency bucket computed once for every aggregate it goes to.
    @inline(__always)
    mutating func add(latencyBucket: Int32, errorType: String?) {
        requests &+= 1
        guard let errorType else {
            ok.add(bucket: latencyBucket)
            return
        }
        errors &+= 1
        failed.add(bucket: latencyBucket)
        countErrors(errorType, 1)
    }

    /// Empties the aggregate, keeping its storage for the next one.
    mutating func removeAll() {
        requests = 0
        errors = 0
        ok.removeAll()
        failed.removeAll()
        errorTypes.removeAll(keepingCapacity: true)
    }

    /// Adds another aggregate. Counts wrap instead of trapping: they come from stored bytes,
    /// which a damaged database can fill with anything.
    mutating func merge(_ other: RequestAggregate) {
        requests &+= other.requests
        errors &+= other.errors
        ok.merge(other.ok)
        failed.merge(other.failed)
        // In name order, as stored aggregates are read: which names survive the cap does not
        // depend on dictionary order.
        for type in other.errorTypes.keys.sorted() { countErrors(type, other.errorTypes[type]!) }
    }

    // MARK: - Storage

    /// Requests and errors, then for a single request (most minute and hour aggregates of a
    /// sparse operation) its latency bucket and its error type if it failed; otherwise the two
    /// sketches and the error types (name, count) by name.
    func append(to out: inout [UInt8]) {
        if requests == 1, let single = single {
            Self.append(single: single.latencyBucket, errorType: single.errorType, to: &out)
            return
        }
        // Bit patterns, as `merge(from:)` reads them: a wrapped count round-trips instead of trapping.
        Varint.append(UInt64(truncatingIfNeeded: requests), to: &out)
        Varint.append(UInt64(truncatingIfNeeded: errors), to: &out)
        ok.append(to: &out)
        failed.append(to: &out)
        Self.append(errorTypes: errorTypes, to: &out)
    }

    /// The one request of an aggregate of one request (`nil` if its parts disagree).
    private var single: (latencyBucket: Int32, errorType: String?)? {
        if errors == 0, let bucket = ok.onlyBucket { return (bucket, nil) }
        if errors == 1, let bucket = failed.onlyBucket, errorTypes.count == 1, let type = errorTypes.first, type.value == 1 { return (bucket, type.key) }
        return nil
    }

    /// The bytes of an aggregate of one request: 1, 0 or 1 error, the latency bucket (zigzag,
    /// -1 for the zero bucket), and the error type if it failed.
    static func append(single latencyBucket: Int32, errorType: String?, to out: inout [UInt8]) {
        Varint.append(UInt64(1), to: &out)
        Varint.append(UInt64(errorType == nil ? 0 : 1), to: &out)
        Varint.append(signed: latencyBucket == LatencySketch.zeroBucket ? -1 : Int64(latencyBucket), to: &out)
        if let errorType { Varint.append(errorType, to: &out) }
    }

    static func append(errorTypes: [String: Int], to out: inout [UInt8]) {
        Varint.append(UInt64(errorTypes.count), to: &out)
        guard !errorTypes.isEmpty else { return }
        for type in errorTypes.keys.sorted() {
            Varint.append(type, to: &out)
            Varint.append(UInt64(truncatingIfNeeded: errorTypes[type]!), to: &out)
        }
    }

    /// Adds a stored aggregate (see `append(to:)`) straight from its bytes.
    mutating func merge(from reader: inout RollupByteReader) throws(DamagedRollupData) {
        let count = try reader.varint()
        let failures = try reader.varint()
        if count == 1 {
            guard failures <= 1 else { throw DamagedRollupData() }
            let bucket = try reader.signed()
            guard bucket == -1 || LatencySketch.validBuckets.contains(bucket) else { throw DamagedRollupData() }
            add(latencyBucket: bucket == -1 ? LatencySketch.zeroBucket : Int32(bucket), errorType: failures == 1 ? try reader.string() : nil)
            return
        }
        // No real aggregate comes near 2^53 requests; a count past that is damage, refused here so
        // that no query or flush downstream meets an absurd or negative count.
        guard count <= Self.maxStoredCount, failures <= count else { throw DamagedRollupData() }
        requests &+= Int(count)
        errors &+= Int(failures)
        try ok.merge(from: &reader)
        try failed.merge(from: &reader)
        for _ in 0..<(try reader.count()) {
            let type = try reader.string()
            let typeCount = try reader.varint()
            guard typeCount <= Self.maxStoredCount else { throw DamagedRollupData() }
            countErrors(type, Int(typeCount))
        }
    }
}
