
/// Merges what a partition's batches added into its minute, hour and day bucket rows (one row
/// per bucket for all services and operations, one for all SLOs), so a bucket that many
/// batches touch is rewritten once per flush. Span batches need no journal of their own: the
/// span blocks are it, and `rollup_progress` records the last block merged, in the flush's
/// own transaction. Ratio-SLO increments (from metric batches, which depend on counter values
/// kept in memory) are journaled, one row per batch in the batch's transaction, and deleted by
/// the flush. So a crash at any point neither loses nor double-counts a batch.
struct RollupWriter {
    let database: SQLiteDatabase
    /// Requests aggregated in memory before their buckets are written: a flush of many blocks
    /// (say, after a restart, or after flushes kept failing) writes them in parts, in bounded memory.
    var requestsPerWrite = 1_000_000

    /// Journals a metric batch's ratio-SLO increments.
    func journal(_ deltas: RollupDeltas) throws {
        guard !deltas.isEmpty else { return }
        try database.statement("INSERT INTO rollup_journal (deltas) VALUES (?)").bind(1, blob: deltas.encoded).run()
    }

    /// Merges the journal and the span blocks stored since the last flush, deletes the journal
    /// entries and records the last block; call inside a transaction. `spanDeltas` are the
    /// blocks' deltas when the caller kept them since the blocks were stored; without them,
    /// the blocks are read back and their deltas computed for `objectives`. Returns the
    /// journal entries and blocks merged.
    @discardableResult
    func flush(spanDeltas: [RollupDeltas]?, objectives: [ServiceLevelObjective], operations: OperationLimit? = nil) throws -> (entries: Int, blocks: Int) {
        var aggregation = RollupAggregation()
        var names = RollupNames()
        try names.update(from: database)
        func add(_ deltas: RollupDeltas) throws {
            aggregation.add(deltas)
            if aggregation.requestCount >= requestsPerWrite {
                try write(&aggregation, names: &names)
                aggregation = RollupAggregation()
            }
        }
        var entries = 0
        let select = try database.statement("SELECT deltas FROM rollup_journal")
        while try select.step() {
            entries += 1
            // A damaged entry (it never is, unless the file is) must not block the others.
            if let deltas = try? select.withBlob(0, { bytes in try RollupDeltas(encoded: bytes) }) { try add(deltas) }
        }
        let merged = try database.integer("SELECT span_block FROM rollup_progress")
        let last = try database.integer("SELECT coalesce(max(id), 0) FROM span_blocks")
        if let spanDeltas {
            for deltas in spanDeltas { try add(deltas) }
        } else if last > merged {
            let blocks = try database.statement("SELECT id FROM span_blocks WHERE id > ? ORDER BY id").bind(1, merged)
            while try blocks.step() {
                // A block that does not decode has no spans to count, here or for any query.
                guard let block = try? SpanBlockCache.read(blocks.int64(0), from: database) else { continue }
                try add(RollupDeltas(spans: block.storedSpans(), objectives: objectives, operations: operations))
            }
        }
        if !aggregation.isEmpty { try write(&aggregation, names: &names) }
        if entries > 0 { try database.statement("DELETE FROM rollup_journal").run() }
        if last != merged { try database.statement("UPDATE rollup_progress SET span_block = ?").bind(1, last).run() }
        return (entries, last - merged)
    }

    /// Writes the aggregation's buckets, numbering new names in `names` (the partition's, read
    /// once per flush).
    private func write(_ aggregation: inout RollupAggregation, names: inout RollupNames) throws {
        // A stored bucket that does not decode is replaced by the new counts alone: its old
        // counts are unreadable anyway, and the bucket is readable again from now on.
        var requestBuckets = try aggregation.encodedRequestBuckets { try names.number($0, in: database) }
        let positions = Dictionary(uniqueKeysWithValues: requestBuckets.indices.map { (requestBuckets[$0].id, $0) })
        try forEachStored(in: "request_rollups", column: "aggregates", requestBuckets.map(\.id)) { id, stored in
            guard let position = positions[id] else { return }
            let fresh = requestBuckets[position].bytes
            if let merged = try? RollupByteReader.reading(fresh, { (fresh) throws(DamagedRollupData) in try RequestBucket.merge(stored, fresh) }) {
                requestBuckets[position].bytes = merged
            }
        }
        try forEachStored(in: "slo_rollups", column: "counts", aggregation.sloBuckets) { id, bytes in
            try? aggregation.mergeStored(slo: bytes, into: id)
        }
        let writeRequests = try database.statement("""
            INSERT INTO request_rollups (resolution, bucket, aggregates) VALUES (?, ?, ?)
            ON CONFLICT (resolution, bucket) DO UPDATE SET aggregates = excluded.aggregates
            """)
        for (id, bytes) in requestBuckets {
            try writeRequests.bind(1, id.resolution.rawValue).bind(2, id.start).bind(3, blob: bytes).run()
        }
        let writeSLO = try database.statement("""
            INSERT INTO slo_rollups (resolution, bucket, counts) VALUES (?, ?, ?)
            ON CONFLICT (resolution, bucket) DO UPDATE SET counts = excluded.counts
            """)
        for (id, bytes) in aggregation.encodedSLOBuckets() {
            try writeSLO.bind(1, id.resolution.rawValue).bind(2, id.start).bind(3, blob: bytes).run()
        }
    }

    /// Calls `body` with the stored bytes of those of `ids` that have a row in `table`: one scan
    /// of the keys in their range per resolution (most buckets of a flush are new), then a
    /// read of each row that exists.
    private func forEachStored(
        in table: String, column: String, _ ids: [RollupAggregation.BucketID],
        _ body: (RollupAggregation.BucketID, UnsafeRawBufferPointer) -> Void
    ) throws {
        let wanted = Set(ids)
        var existing = [RollupAggregation.BucketID]()
        for resolution in Resolution.allCases {
            let starts = ids.lazy.filter { $0.resolution == resolution }.map(\.start)
            guard let low = starts.min(), let high = starts.max() else { continue }
            let keys = try database.statement("SELECT bucket FROM \(table) WHERE resolution = ? AND bucket BETWEEN ? AND ?")
                .bind(1, resolution.rawValue).bind(2, low).bind(3, high)
            while try keys.step() {
                let id = RollupAggregation.BucketID(resolution: resolution, start: keys.int64(0))
                if wanted.contains(id) { existing.append(id) }
            }
        }
        let select = try database.statement("SELECT \(column) FROM \(table) WHERE resolution = ? AND bucket = ?")
        for id in existing {
            select.bind(1, id.resolution.rawValue).bind(2, id.start)
            guard try select.step() else { continue }
            select.withBlob(0) { body(id, $0) }
            select.reset()
        }
    }
}
