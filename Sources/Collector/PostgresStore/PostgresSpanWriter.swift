import NIOCore
import PeriscopeCompression
import PeriscopeModel
import PostgresNIO

/// Stores one day's spans of a batch inside the caller's transaction, in the layout of the
/// SQLite store (`SpanBatchWriter`): the spans grouped by trace into compressed blocks with
/// their search terms, and one `trace_segments` row per (trace, block). A span stored before
/// (same trace and span ID, in an earlier batch of the day) is left out: the segments'
/// fingerprints say when its block must be read to be sure.
struct PostgresSpanWriter {
    let session: PostgresSession
    let day: PartitionDay
    let indexedAttributes: Set<String>
    let blocks: SpanBlockCache
    let operations: OperationLimit

    struct Written {
        var stored = StoredSpans()
        /// Traces with no span in the day before.
        var newTraces = 0
    }

    func insert(_ groups: [ResourceSpans]) throws -> Written {
        let grouped = SpanBatchWriter.groupByTrace(groups)
        try lockTraces(grouped.traceIDs)
        let existing = try existingSegments(grouped.traceIDs)
        var kept = [BlockSpan]()
        kept.reserveCapacity(grouped.spans.count)
        var traces = [(traceID: TraceID, spans: Range<Int>)]()
        var newTraces = 0
        for (ordinal, traceID) in grouped.traceIDs.enumerated() {
            let first = kept.count
            var seen = Set<UInt64>()
            let segments = existing[traceID]
            let fingerprints = Set(segments?.flatMap(\.fingerprints) ?? [])
            var stored: Set<UInt64>?
            for ref in grouped.spans[grouped.bounds[ordinal]..<grouped.bounds[ordinal + 1]] {
                let span = ref.span(in: groups)
                let id = span.spanID.value
                guard seen.insert(id).inserted else { continue }
                if let segments, fingerprints.contains(TraceSegment.fingerprint(id)) {
                    if stored == nil { stored = try storedSpanIDs(segments) }
                    if stored!.contains(id) { continue }
                }
                kept.append(BlockSpan(resource: Int(ref.group), span: span))
            }
            if kept.count > first {
                traces.append((traceID, first..<kept.count))
                if segments == nil { newTraces += 1 }
            }
        }
        guard !traces.isEmpty else { return Written() }

        var operationKeys = Set<OperationKey>()
        for block in SpanBatchWriter.blocks(traces.map(\.spans.count)) {
            try writeBlock(traces[block], kept: kept, groups: groups, operations: &operationKeys)
        }
        try record(operationKeys)
        return Written(stored: StoredSpans(services: groups.map(\.resource.serviceName), spans: kept), newTraces: newTraces)
    }

    private struct OperationKey: Hashable, Comparable {
        var service: String
        var name: String
        var kind: Int

        static func < (a: OperationKey, b: OperationKey) -> Bool { (a.service, a.name, a.kind) < (b.service, b.name, b.kind) }
    }

    /// Takes a transaction-scoped advisory lock per trace (in one order everywhere, so two
    /// batches never wait on each other in a circle): two collectors storing spans of one trace
    /// at once take turns, so the second sees the first's segments and stores no span twice.
    private func lockTraces(_ traceIDs: [TraceID]) throws {
        let keys = Set(traceIDs.map { Int64(bitPattern: $0.high ^ $0.low &* 0x9E37_79B9_7F4A_7C15) }).sorted()
        try session.query("""
            SELECT pg_advisory_xact_lock(k) FROM (SELECT k FROM unnest(\(keys)) AS u(k) ORDER BY k) AS ordered
            """, "locking the batch's traces")
    }

    /// The stored segments of those of `traceIDs` the day has.
    private func existingSegments(_ traceIDs: [TraceID]) throws -> [TraceID: [TraceSegment]] {
        var out = [TraceID: [TraceSegment]]()
        // Index probes only while the day's statistics are fresh (`analyzeGrownDays`): without
        // them the planner scanned the whole day's partition for every batch.
        let rows = try session.query("""
            SELECT s.trace_id, s.segment FROM unnest(\(traceIDs.map { ByteBuffer(bytes: $0.bytes) })) AS u(t)
            JOIN periscope.trace_segments AS s ON s.trace_id = u.t WHERE s.day = \(day.index)
            """, "looking up the batch's traces")
        for row in rows {
            let (id, segment) = try row.decode((ByteBuffer, ByteBuffer).self)
            guard let traceID = TraceID(bytes: Array(id.readableBytesView)) else { continue }
            out[traceID, default: []].append(contentsOf: try TraceSegment.decode(Array(segment.readableBytesView)))
        }
        return out
    }

    /// The span IDs of a trace's stored segments, read from their blocks.
    private func storedSpanIDs(_ segments: [TraceSegment]) throws -> Set<UInt64> {
        let source = PostgresDayBlocks(session: session, day: day, cache: blocks)
        var ids = Set<UInt64>()
        for segment in segments {
            let (block, ordinal) = try source.trace(segment.ordinal, ofBlock: segment.block)
            guard ordinal < block.traceCount else { throw DamagedStoredData(what: "trace index") }
            for span in block.spans(ofTrace: ordinal) { ids.insert(block.spanIDs[span]) }
        }
        return ids
    }

    private func writeBlock(
        _ traces: ArraySlice<(traceID: TraceID, spans: Range<Int>)>, kept: [BlockSpan], groups: [ResourceSpans],
        operations: inout Set<OperationKey>
    ) throws {
        var encoder = SpanBlockEncoder(indexedAttributes: indexedAttributes)
        for group in groups { _ = encoder.addResource(group.resource) }
        var ordinals = [Int]()
        ordinals.reserveCapacity(traces.count)
        for trace in traces { ordinals.append(encoder.addTrace(trace.traceID, kept[trace.spans])) }
        for operation in encoder.operations {
            operations.insert(OperationKey(service: operation.service, name: operation.name, kind: operation.kind))
        }
        let data = Zstd.compress(encoder.encoded(), level: SpanBatchWriter.compressionLevel)
        let row = try session.query("""
            INSERT INTO periscope.span_blocks (day, id, min_start, max_start, spans, terms, data)
            VALUES (\(day.index), nextval('periscope.span_block_ids'), \(Int64(clamping: encoder.minStart)), \(Int64(clamping: encoder.maxStart)),
                \(encoder.spanCount), \(ByteBuffer(bytes: encoder.encodedTerms())), \(ByteBuffer(bytes: data)))
            RETURNING id
            """, "storing a span block")
        guard let block = try row.first?.decode(Int64.self) else {
            throw PostgresStoreError.statement(sqlState: "?????", message: "no block ID returned", what: "storing a span block")
        }
        var traceIDs = [ByteBuffer](), segments = [ByteBuffer]()
        for (trace, ordinal) in zip(traces, ordinals) {
            var sink = ByteSink()
            TraceSegment(block: block, ordinal: ordinal, fingerprints: kept[trace.spans].map { TraceSegment.fingerprint($0.span.spanID.value) })
                .append(to: &sink)
            traceIDs.append(ByteBuffer(bytes: trace.traceID.bytes))
            segments.append(ByteBuffer(bytes: sink.bytes))
        }
        try session.query("""
            INSERT INTO periscope.trace_segments (day, trace_id, segment)
            SELECT \(day.index), t, s FROM unnest(\(traceIDs), \(segments)) AS u(t, s)
            """, "indexing the block's traces")
    }

    /// Adds the operations not listed yet, in one order on every collector (so two inserting
    /// the same new ones wait for each other instead of deadlocking).
    private func record(_ keys: Set<OperationKey>) throws {
        guard !keys.isEmpty else { return }
        var rows = [OperationKey]()
        for key in keys {
            rows.append(OperationKey(service: PostgresText.key(key.service),
                                     name: PostgresText.key(operations.name(service: key.service, operation: key.name)), kind: key.kind))
        }
        rows = Array(Set(rows)).sorted()
        try session.query("""
            INSERT INTO periscope.operations (day, service, name, kind)
            SELECT \(day.index), s, n, k FROM unnest(\(rows.map(\.service)), \(rows.map(\.name)), \(rows.map { Int32($0.kind) })) AS u(s, n, k)
            ON CONFLICT DO NOTHING
            """, "listing operations")
    }
}
