
/// Entry points for fuzzing what the collector reads back from its own files: span blocks and
/// rollup buckets. A damaged or hostile database must give `DamagedStoredData` /
/// `DamagedRollupData`, never a trap; each check decodes the bytes and then reads every part of
/// what decoded, as queries would. Public for the libFuzzer targets in `Fuzz/`; the property
/// tests call them too.
public enum StoredBytesFuzzing {
    /// Decodes `bytes` as an uncompressed span block, whole and trace by trace, and reads every
    /// span as the query API and the rollup flush do.
    public static func checkSpanBlock(_ bytes: UnsafeRawBufferPointer) {
        guard let block = try? SpanBlock(decoding: bytes) else { return }
        for trace in 0..<block.traceCount {
            for span in block.spans(ofTrace: trace) {
                _ = block.apiSpan(span, traceID: block.traceIDs[trace])
                for index in block.attributeBounds[span]..<block.attributeBounds[span + 1] {
                    _ = block.attributeStringIndex(index)
                }
            }
        }
        _ = block.storedSpans()
        for trace in [0, block.traceCount / 2, block.traceCount - 1] where trace >= 0 && trace < block.traceCount {
            if let single = try? SpanBlock(decoding: bytes, traces: trace..<(trace + 1)), single.traceCount == 1 {
                for span in single.spans(ofTrace: 0) { _ = single.apiSpan(span, traceID: single.traceIDs[0]) }
            }
        }
    }

    /// Reads `bytes` as the start of a file in the data directory, as the collector's start does
    /// before deleting a day file past retention: a trap here would stop the start, and a header
    /// judged ours that is not a SQLite header of a Periscope schema would delete another tool's file.
    public static func checkPartitionHeader(_ bytes: UnsafeRawBufferPointer) {
        let header = Array(bytes)
        guard Partition.isOurs(header: header) else { return }
        let version = header[60..<64].reduce(0) { $0 << 8 | Int($1) }
        precondition(header.count >= Partition.headerSize && header.starts(with: "SQLite format 3\0".utf8),
                     "a header without the SQLite signature was judged a Periscope partition")
        precondition((1...Int(Schema.version)).contains(version), "a header of schema \(version) was judged a Periscope partition")
    }

    /// Decodes `bytes` as an uncompressed log block and reads every record as a log query does,
    /// body and attributes included.
    public static func checkLogBlock(_ bytes: UnsafeRawBufferPointer) {
        guard let block = try? LogBlock(decoding: Array(bytes)) else { return }
        for index in block.records.indices {
            _ = block.apiLog(index, service: "fuzz")
            _ = block.body(index).text
            _ = block.bodyContains(index, "a")
            _ = (block.eventName(index), block.correlationID(index), block.hasCorrelationID(index, "req-1"))
        }
    }

    /// Reads `bytes` as a request-rollup bucket (every entry's aggregate, merged with itself),
    /// an SLO bucket and a latency sketch, computing what the signals and SLO queries compute.
    public static func checkRollupBucket(_ bytes: UnsafeRawBufferPointer) {
        var total = RequestAggregate()
        var folded = RequestAggregate()
        try? RequestBucket.forEach(in: bytes, entries: .all) { (_, _, reader) throws(DamagedRollupData) in
            var aggregate = RequestAggregate()
            var again = reader
            try aggregate.merge(from: &reader)
            total.merge(aggregate)
            // As a signals query folds a row: every entry into one aggregate, straight from bytes.
            try folded.merge(from: &again)
        }
        folded.add(latencyBucket: 0, errorType: "timeout")
        folded.add(latencyBucket: 0, errorType: nil)
        // As a rollup flush merges fresh one-request deltas into a stored bucket.
        var fresh = RequestBucket.Writer()
        for service in 1...4 {
            fresh.section(service)
            fresh.entry(0) { RequestAggregate.append(single: 0, errorType: service % 2 == 0 ? "timeout" : nil, to: &$0) }
        }
        let freshBytes = fresh.finish()
        if let merged = try? RollupByteReader.reading(freshBytes, { (fresh) throws(DamagedRollupData) in try RequestBucket.merge(bytes, fresh) }) {
            try? RollupByteReader.reading(merged) { (merged) throws(DamagedRollupData) in
                try RequestBucket.forEach(in: merged, entries: .all) { (_, _, reader) throws(DamagedRollupData) in
                    var aggregate = RequestAggregate()
                    try aggregate.merge(from: &reader)
                }
            }
        }
        _ = total.ok.quantiles([0.5, 0.95, 0.99])
        _ = total.failed.quantiles([0.5, 0.99])
        // Written back, as compaction writes merged aggregates, and read again.
        var rewritten = [UInt8]()
        total.append(to: &rewritten)
        try? RollupByteReader.reading(rewritten) { (raw) throws(DamagedRollupData) in
            var reader = RollupByteReader(raw)
            var again = RequestAggregate()
            try again.merge(from: &reader)
        }
        if let merged = try? RequestBucket.merge(bytes, bytes) {
            try? RollupByteReader.reading(merged) { (merged) throws(DamagedRollupData) in
                try RequestBucket.forEach(in: merged, entries: .services) { (_, _, reader) throws(DamagedRollupData) in
                    var aggregate = RequestAggregate()
                    try aggregate.merge(from: &reader)
                }
            }
        }
        var counts = SLOCounts()
        try? SLOBucket.forEach(in: bytes) { (_, bucket) throws(DamagedRollupData) in counts.add(bucket) }
        if let sketch = try? LatencySketch(encoded: Array(bytes)) {
            _ = sketch.quantiles([0, 0.5, 0.999, 1])
        }
    }
}
