import PeriscopeModel
import PeriscopeQueryAPI

/// One partition's span blocks through one of its connections (the caller holds its lock).
struct SQLitePartitionBlocks: SpanBlockSource {
    let partition: Partition
    let database: SQLiteDatabase

    func blockPage(from start: UInt64, to end: UInt64, after: (maxStart: UInt64, id: Int64)?, limit: Int) throws
        -> [(id: Int64, maxStart: UInt64)] {
        let statement = try database.statement("""
            SELECT block, max_start FROM block_terms
            WHERE max_start >= ?1 AND min_start <= ?2 AND (max_start, block) < (?3, ?4)
            ORDER BY max_start DESC, block DESC LIMIT ?5
            """)
        statement.bind(1, start).bind(2, min(end, UInt64(Int64.max)))
        statement.bind(3, after.map { Int64(bitPattern: $0.maxStart) } ?? Int64.max).bind(4, after?.id ?? Int64.max)
        statement.bind(5, limit)
        var page = [(id: Int64, maxStart: UInt64)]()
        while try statement.step() { page.append((statement.int64(0), statement.uint64(1))) }
        return page
    }

    func terms(of block: Int64) throws -> TermTable {
        let statement = try database.statement("SELECT terms FROM block_terms WHERE block = ?").bind(1, block)
        guard try statement.step() else { throw DamagedStoredData(what: "span search index of block \(block) (missing)") }
        defer { statement.reset() }
        return try TermTable(statement.blob(0))
    }

    func block(_ id: Int64) throws -> SpanBlock { try partition.blocks.block(id, in: database) }

    func trace(_ ordinal: Int, ofBlock id: Int64) throws -> (block: SpanBlock, ordinal: Int) {
        try partition.blocks.trace(ordinal, ofBlock: id, in: database)
    }

    func segments(of traceID: TraceID) throws -> [TraceSegment]? {
        let statement = try database.statement("SELECT segments FROM trace_index WHERE trace_id = ?").bind(1, blob: traceID.bytes)
        guard try statement.step() else { return nil }
        defer { statement.reset() }
        return try TraceSegment.decode(statement.blob(0))
    }

    func blocks(from start: UInt64, to end: UInt64) throws -> [Int64] {
        let statement = try database.statement("SELECT block FROM block_terms WHERE max_start >= ? AND min_start <= ?")
            .bind(1, start).bind(2, min(end, UInt64(Int64.max)))
        var ids = [Int64]()
        while try statement.step() { ids.append(statement.int64(0)) }
        return ids
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
        if block.isFailed(span) { errors += 1 }
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
