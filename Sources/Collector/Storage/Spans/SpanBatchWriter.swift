import PeriscopeCompression
import PeriscopeModel

/// Stores one day's spans of a batch, inside the caller's transaction: the spans grouped by
/// trace into compressed span blocks (one per batch, split only past `maxSpansPerBlock`),
/// each block's search terms in one `block_terms` row, and one `trace_index` row per trace
/// saying which blocks hold it. A few rows per batch instead of several per span.
struct SpanBatchWriter {
    let database: SQLiteDatabase
    let indexedAttributes: Set<String>
    let blocks: SpanBlockCache
    var operationLimit: OperationLimit? = nil
    /// The span IDs of large traces being written, so they are not read back batch after batch.
    var largeTraces: LargeTraceSpanIDs? = nil

    /// A block stays small enough to decompress in a fraction of a millisecond for a trace read.
    static let maxSpansPerBlock = 4096
    static let compressionLevel: Int32 = 3

    /// The stored spans with their services (spans stored before, by trace and span ID, are
    /// left out: they change nothing), for the rollups.
    func insert(_ groups: [ResourceSpans]) throws -> StoredSpans {
        let grouped = Self.groupByTrace(groups)
        var kept = [BlockSpan]()
        kept.reserveCapacity(grouped.spans.count)
        var traces = [PendingTrace]()
        traces.reserveCapacity(grouped.traceIDs.count)
        for (ordinal, traceID) in grouped.traceIDs.enumerated() {
            let existing = try existingSegments(traceID)
            let first = kept.count
            try keepNew(grouped.spans[grouped.bounds[ordinal]..<grouped.bounds[ordinal + 1]], of: groups, trace: traceID, existing: existing, into: &kept)
            if kept.count > first { traces.append(PendingTrace(traceID: traceID, spans: first..<kept.count, existing: existing)) }
        }
        guard !traces.isEmpty else { return StoredSpans() }

        let services = groups.map(\.resource.serviceName)
        var newTraces = 0
        var operations = Set<OperationKey>()
        for block in Self.blocks(traces.map(\.spans.count)) {
            newTraces += try writeBlock(traces[block], kept: kept, groups: groups, operations: &operations)
        }
        try database.statement("UPDATE counters SET value = value + ? WHERE name = 'spans'").bind(1, kept.count).run()
        try database.statement("UPDATE counters SET value = value + ? WHERE name = 'traces'").bind(1, newTraces).run()
        for operation in operations {
            let name = operationLimit?.name(service: operation.service, operation: operation.name) ?? operation.name
            try database.statement("INSERT OR IGNORE INTO operations (service, name, kind) VALUES (?, ?, ?)")
                .bind(1, operation.service).bind(2, name).bind(3, operation.kind).run()
        }
        return StoredSpans(services: services, spans: kept)
    }

    private struct OperationKey: Hashable {
        var service: String
        var name: String
        var kind: Int
    }

    private struct PendingTrace {
        var traceID: TraceID
        var spans: Range<Int>
        /// The trace's `trace_index` row as stored: segments are appended to its bytes.
        var existing: [UInt8]?
    }

    /// Consecutive runs of traces (by their span counts) that fill blocks of at most
    /// `maxSpansPerBlock` spans; a larger trace has a block of its own.
    static func blocks(_ spanCounts: [Int]) -> [Range<Int>] {
        var ranges = [Range<Int>]()
        var first = 0
        while first < spanCounts.count {
            var end = first + 1
            var spans = spanCounts[first]
            while end < spanCounts.count, spans + spanCounts[end] <= maxSpansPerBlock {
                spans += spanCounts[end]
                end += 1
            }
            ranges.append(first..<end)
            first = end
        }
        return ranges
    }

    /// Where a span is in the batch: resource group, scope, index.
    struct SpanRef {
        var group: Int32
        var scope: Int32
        var index: Int32

        func span(in groups: [ResourceSpans]) -> Span { groups[Int(group)].scopes[Int(scope)].spans[Int(index)] }
    }

    /// The batch's spans in trace order (traces in order of first appearance, spans in
    /// arrival order within each).
    static func groupByTrace(_ groups: [ResourceSpans]) -> (traceIDs: [TraceID], bounds: [Int], spans: [SpanRef]) {
        var ordinals = [TraceID: Int]()
        var traceIDs = [TraceID]()
        var flat = [SpanRef]()
        var traceOf = [Int]()
        for (resource, group) in groups.enumerated() {
            for (scopeIndex, scope) in group.scopes.enumerated() {
                for (index, span) in scope.spans.enumerated() {
                    let ordinal: Int
                    if let known = ordinals[span.traceID] {
                        ordinal = known
                    } else {
                        ordinal = traceIDs.count
                        ordinals[span.traceID] = ordinal
                        traceIDs.append(span.traceID)
                    }
                    flat.append(SpanRef(group: Int32(resource), scope: Int32(scopeIndex), index: Int32(index)))
                    traceOf.append(ordinal)
                }
            }
        }
        var bounds = [Int](repeating: 0, count: traceIDs.count + 1)
        for ordinal in traceOf { bounds[ordinal + 1] += 1 }
        for index in traceIDs.indices { bounds[index + 1] += bounds[index] }
        var slots = bounds
        var ordered = flat
        for (index, ordinal) in traceOf.enumerated() {
            ordered[slots[ordinal]] = flat[index]
            slots[ordinal] += 1
        }
        return (traceIDs, bounds, ordered)
    }

    private func existingSegments(_ traceID: TraceID) throws -> [UInt8]? {
        let statement = try database.statement("SELECT segments FROM trace_index WHERE trace_id = ?").bind(1, blob: traceID.bytes)
        guard try statement.step() else { return nil }
        defer { statement.reset() }
        return statement.blob(0)
    }

    /// Appends the spans of one trace that are neither repeated within the batch nor stored
    /// before. A large trace is checked against its span IDs in `largeTraces`; others against
    /// the fingerprints of their segments, reading blocks back only on a match.
    private func keepNew(
        _ spans: ArraySlice<SpanRef>, of groups: [ResourceSpans], trace: TraceID, existing bytes: [UInt8]?, into kept: inout [BlockSpan]
    ) throws {
        var seen = Set<UInt64>()
        let first = kept.count
        var stored: Set<UInt64>?
        let known = bytes == nil ? nil : largeTraces?.alreadyStored(spans.lazy.map { $0.span(in: groups).spanID.value }, in: trace)
        let existing = known == nil ? try bytes.map(TraceSegment.decode) : nil
        let fingerprints = Set(existing?.flatMap(\.fingerprints) ?? [])
        for ref in spans {
            let span = ref.span(in: groups)
            let id = span.spanID.value
            if spans.count > 16 {
                guard seen.insert(id).inserted else { continue }
            } else if kept[first...].contains(where: { $0.span.spanID.value == id }) {
                continue
            }
            if let known {
                if known.contains(id) { continue }
            } else if let existing, fingerprints.contains(TraceSegment.fingerprint(id)) {
                if stored == nil { stored = try storedSpanIDs(existing) }
                if stored!.contains(id) { continue }
            }
            kept.append(BlockSpan(resource: Int(ref.group), span: span))
        }
        guard let largeTraces, bytes != nil else { return }
        let added = kept[first...].lazy.map(\.span.spanID.value)
        if known != nil {
            largeTraces.add(added, to: trace)
        } else if let existing, case let total = existing.reduce(0, { $0 + $1.fingerprints.count }) + kept.count - first,
                  total >= LargeTraceSpanIDs.threshold, total <= LargeTraceSpanIDs.maxIDs {
            var ids = try stored ?? storedSpanIDs(existing)
            ids.formUnion(added)
            largeTraces.store(ids, of: trace)
        }
    }

    /// The span IDs of a trace's stored segments, read from their blocks.
    private func storedSpanIDs(_ segments: [TraceSegment]) throws -> Set<UInt64> {
        var ids = Set<UInt64>()
        for segment in segments {
            let (block, ordinal) = try blocks.trace(segment.ordinal, ofBlock: segment.block, in: database)
            guard ordinal < block.traceCount else { throw DamagedStoredData(what: "trace index") }
            for span in block.spans(ofTrace: ordinal) { ids.insert(block.spanIDs[span]) }
        }
        return ids
    }

    /// Writes one block, its terms and its traces' index rows; returns how many traces are new to the partition.
    private func writeBlock(
        _ traces: ArraySlice<PendingTrace>, kept: [BlockSpan], groups: [ResourceSpans], operations: inout Set<OperationKey>
    ) throws -> Int {
        var encoder = SpanBlockEncoder(indexedAttributes: indexedAttributes)
        for group in groups { _ = encoder.addResource(group.resource) }
        var ordinals = [Int]()
        ordinals.reserveCapacity(traces.count)
        for trace in traces { ordinals.append(encoder.addTrace(trace.traceID, kept[trace.spans])) }
        for operation in encoder.operations { operations.insert(OperationKey(service: operation.service, name: operation.name, kind: operation.kind)) }
        let data = Zstd.compress(encoder.encoded(), level: Self.compressionLevel)
        try database.statement("INSERT INTO span_blocks (data) VALUES (?)").bind(1, blob: data).run()
        let block = database.lastInsertRowID
        try database.statement("INSERT INTO block_terms (block, min_start, max_start, spans, terms) VALUES (?, ?, ?, ?, ?)")
            .bind(1, block).bind(2, encoder.minStart).bind(3, encoder.maxStart).bind(4, encoder.spanCount)
            .bind(5, blob: encoder.encodedTerms()).run()
        var newTraces = 0
        for (trace, ordinal) in zip(traces, ordinals) {
            var sink = ByteSink()
            sink.bytes = trace.existing ?? []
            TraceSegment(block: block, ordinal: ordinal, fingerprints: kept[trace.spans].map { TraceSegment.fingerprint($0.span.spanID.value) })
                .append(to: &sink)
            if trace.existing == nil {
                newTraces += 1
                try database.statement("INSERT INTO trace_index (trace_id, segments) VALUES (?, ?)")
                    .bind(1, blob: trace.traceID.bytes).bind(2, blob: sink.bytes).run()
            } else {
                try database.statement("UPDATE trace_index SET segments = ? WHERE trace_id = ?")
                    .bind(1, blob: sink.bytes).bind(2, blob: trace.traceID.bytes).run()
            }
        }
        return newTraces
    }
}
