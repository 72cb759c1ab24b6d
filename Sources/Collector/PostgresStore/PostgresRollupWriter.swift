import NIOCore
import PostgresNIO

/// Merges compacted batch deltas into one day's rollup rows, inside the compaction's
/// transaction (which holds the compaction lock, so no other writer touches these rows).
struct PostgresRollupWriter {
    let session: PostgresSession
    let day: PartitionDay

    func write(_ aggregation: inout RollupAggregation) throws {
        guard !aggregation.isEmpty else { return }
        var names = try RollupNames.read(day: day, in: session)
        var added = [(Int32, String)]()
        // Names as the table holds them (no NUL), so a name read back is found again.
        var requestBuckets = aggregation.encodedRequestBuckets { name in
            names.numberOrAdd(PostgresText.clean(name)) { added.append(($0, $1)) }
        }
        if !added.isEmpty {
            try session.query("""
                INSERT INTO periscope.rollup_names (day, id, name)
                SELECT \(day.index), id, name FROM unnest(\(added.map(\.0)), \(added.map(\.1))) AS u(id, name)
                """, "numbering rollup names")
        }
        // A stored bucket that does not decode is replaced by the new counts alone: its old
        // counts are unreadable anyway, and the bucket is readable again from now on.
        let positions = Dictionary(uniqueKeysWithValues: requestBuckets.indices.map { (requestBuckets[$0].id, $0) })
        for (id, stored) in try storedBuckets("request_rollups", "aggregates", requestBuckets.map(\.id)) {
            guard let position = positions[id] else { continue }
            let fresh = requestBuckets[position].bytes
            let merged = try? stored.withUnsafeBytes { stored in
                try RollupByteReader.reading(fresh) { (fresh) throws(DamagedRollupData) in try RequestBucket.merge(stored, fresh) }
            }
            if let merged { requestBuckets[position].bytes = merged }
        }
        for (id, stored) in try storedBuckets("slo_rollups", "counts", aggregation.sloBuckets) {
            stored.withUnsafeBytes { try? aggregation.mergeStored(slo: $0, into: id) }
        }
        try upsert("request_rollups", "aggregates", requestBuckets)
        try upsert("slo_rollups", "counts", aggregation.encodedSLOBuckets())
    }

    private func storedBuckets(_ table: String, _ column: String, _ ids: [RollupAggregation.BucketID]) throws
        -> [(RollupAggregation.BucketID, [UInt8])] {
        guard !ids.isEmpty else { return [] }
        let rows = try session.query("""
            SELECT r.resolution, r.bucket, r.\(unescaped: column) FROM periscope.\(unescaped: table) r
            JOIN unnest(\(ids.map { Int32($0.resolution.rawValue) }), \(ids.map(\.start))) AS u(resolution, bucket)
              ON r.resolution = u.resolution AND r.bucket = u.bucket
            WHERE r.day = \(day.index)
            """, "reading rollups to merge")
        return try rows.compactMap { row in
            let (resolution, bucket, bytes) = try row.decode((Int, Int64, ByteBuffer).self)
            guard let resolution = Resolution(rawValue: resolution) else { return nil }
            return (RollupAggregation.BucketID(resolution: resolution, start: bucket), Array(bytes.readableBytesView))
        }
    }

    private func upsert(_ table: String, _ column: String, _ buckets: [(id: RollupAggregation.BucketID, bytes: [UInt8])]) throws {
        guard !buckets.isEmpty else { return }
        try session.query("""
            INSERT INTO periscope.\(unescaped: table) (day, resolution, bucket, \(unescaped: column))
            SELECT \(day.index), resolution, bucket, bytes
            FROM unnest(\(buckets.map { Int32($0.id.resolution.rawValue) }), \(buckets.map(\.id.start)), \(buckets.map { ByteBuffer(bytes: $0.bytes) }))
                AS u(resolution, bucket, bytes)
            ON CONFLICT (day, resolution, bucket) DO UPDATE SET \(unescaped: column) = excluded.\(unescaped: column)
            """, "writing rollups")
    }
}

extension RollupNames {
    /// One day's names, as the PostgreSQL store numbered them.
    static func read(day: PartitionDay, in session: PostgresSession) throws -> RollupNames {
        var names = RollupNames()
        for row in try session.query("SELECT id, name FROM periscope.rollup_names WHERE day = \(day.index) ORDER BY id", "reading rollup names") {
            let (id, name) = try row.decode((Int, String).self)
            // Numbers are contiguous; one that is not ends the read, and the entries that use it are skipped as damaged.
            guard id == names.names.count else { break }
            names.names.append(name)
        }
        return names
    }

    /// The number of `name`; a new name gets the next number and is passed to `added`.
    mutating func numberOrAdd(_ name: String, added: (Int32, String) -> Void) -> Int32 {
        if numbers.isEmpty {
            for (number, name) in names.enumerated() { numbers[name] = Int32(number) }
        }
        if let number = numbers[name] { return number }
        let number = Int32(names.count)
        names.append(name)
        numbers[name] = number
        added(number, name)
        return number
    }
}

/// What a batch adds to a day's row counts (`counts()`): one `batch_deltas` row per batch and
/// day, summed into `counts` by the compaction.
struct PostgresBatchCounts {
    var spans = 0
    var traces = 0
    var logs = 0
    var metricPoints = 0
    var ingestedBatches = 0
    var foldedOperationSpans = 0

    mutating func add(_ other: PostgresBatchCounts) {
        spans += other.spans
        traces += other.traces
        logs += other.logs
        metricPoints += other.metricPoints
        ingestedBatches += other.ingestedBatches
        foldedOperationSpans += other.foldedOperationSpans
    }

    /// Appends the batch's row to `batch_deltas`, with its encoded rollup deltas.
    func record(day: PartitionDay, deltas: [UInt8]?, in session: PostgresSession) throws {
        try session.query("""
            INSERT INTO periscope.batch_deltas (day, deltas, spans, traces, logs, metric_points, ingested_batches, folded_operation_spans)
            VALUES (\(day.index), \(deltas.map { ByteBuffer(bytes: $0) }), \(spans), \(traces), \(logs), \(metricPoints), \(ingestedBatches), \(foldedOperationSpans))
            """, "recording the batch's deltas")
    }

    /// Adds to the day's totals (inside the compaction).
    func add(toTotalsOf day: PartitionDay, in session: PostgresSession) throws {
        try session.query("""
            INSERT INTO periscope.counts AS c (day, spans, traces, logs, metric_points, ingested_batches, folded_operation_spans)
            VALUES (\(day.index), \(spans), \(traces), \(logs), \(metricPoints), \(ingestedBatches), \(foldedOperationSpans))
            ON CONFLICT (day) DO UPDATE SET spans = c.spans + excluded.spans, traces = c.traces + excluded.traces,
                logs = c.logs + excluded.logs, metric_points = c.metric_points + excluded.metric_points,
                ingested_batches = c.ingested_batches + excluded.ingested_batches,
                folded_operation_spans = c.folded_operation_spans + excluded.folded_operation_spans
            """, "adding to the day's counts")
    }
}

/// Text for PostgreSQL's `text` columns, which cannot hold NUL: one is replaced by U+FFFD (the
/// exact bytes stay in the span blocks and the bytea columns).
enum PostgresText {
    static func clean(_ text: String) -> String {
        guard text.utf8.contains(0) else { return text }
        return text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")
    }

    /// Most UTF-8 bytes of an indexed text value: a B-tree entry holds at most 2704 bytes, and
    /// a longer name (a span named with a whole SQL statement) would fail its batch every time.
    static let maxKeyBytes = 1024

    /// `clean`, cut to `maxKeyBytes` at a character boundary: for indexed columns (service,
    /// operation, metric names, correlation IDs) and for the values queries compare them with.
    static func key(_ text: String) -> String {
        let cleaned = clean(text)
        guard cleaned.utf8.count > maxKeyBytes else { return cleaned }
        var cut = ""
        var bytes = 0
        for character in cleaned {
            let size = character.utf8.count
            guard bytes + size <= maxKeyBytes else { break }
            cut.append(character)
            bytes += size
        }
        return cut
    }
}
