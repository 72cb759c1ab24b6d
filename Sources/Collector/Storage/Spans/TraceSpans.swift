import PeriscopeModel
import PeriscopeQueryAPI

extension Partition {
    /// Where the trace's spans are in this partition; nil if it has none here.
    func segments(of traceID: TraceID, in database: SQLiteDatabase) throws -> [TraceSegment]? {
        let statement = try database.statement("SELECT segments FROM trace_index WHERE trace_id = ?").bind(1, blob: traceID.bytes)
        guard try statement.step() else { return nil }
        defer { statement.reset() }
        return try TraceSegment.decode(statement.blob(0))
    }

    /// Calls `body` with every stored span of the trace in this partition (its block and index),
    /// block by block in the order they were written; false if the partition has none of the trace.
    @discardableResult
    func forEachSpan(of traceID: TraceID, in database: SQLiteDatabase, _ body: (SpanBlock, Int) throws -> Void) throws -> Bool {
        guard let segments = try segments(of: traceID, in: database) else { return false }
        for segment in segments {
            let (block, ordinal) = try blocks.trace(segment.ordinal, ofBlock: segment.block, in: database)
            guard ordinal < block.traceCount, block.traceIDs[ordinal] == traceID else {
                throw DamagedStoredData(what: "trace index of \(traceID.hex)")
            }
            for span in block.spans(ofTrace: ordinal) { try body(block, span) }
        }
        return true
    }
}

/// A trace's summary over the spans one partition holds of it; `merge` joins the days of a
/// trace that crosses midnight.
struct TraceSummaryParts {
    var start = UInt64.max
    var end: UInt64 = 0
    var spans = 0
    var errors = 0
    var root: (service: String, name: String)?
    var services = Set<String>()

    /// Adds span `span` of `block`; a later root replaces an earlier one, as the latest batch's root did.
    mutating func add(_ block: SpanBlock, _ span: Int) {
        start = min(start, block.starts[span])
        end = max(end, block.ends[span])
        spans += 1
        if block.statusCodes[span] == UInt8(Span.Status.Code.error.rawValue) { errors += 1 }
        let service = block.service(span)
        if block.parentIDs[span] == 0 { root = (service, block.name(span)) }
        services.insert(service)
    }

    /// Joins a later day's part: the earlier day's root wins.
    mutating func merge(_ later: TraceSummaryParts) {
        start = min(start, later.start)
        end = max(end, later.end)
        spans += later.spans
        errors += later.errors
        root = root ?? later.root
        services.formUnion(later.services)
    }

    func summary(_ traceID: TraceID) -> QueryAPI.TraceSummary {
        QueryAPI.TraceSummary(
            traceID: traceID, startTimeUnixNano: start, durationNanos: end >= start ? end - start : 0,
            rootService: root?.service, rootName: root?.name, spanCount: spans, errorCount: errors,
            services: services.sorted())
    }
}
