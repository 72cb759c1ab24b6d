import PeriscopeCompression
import PeriscopeModel
import PeriscopeQueryAPI

/// One partition's part of a log query (`SQLiteStore.logs`): the blocks whose time range,
/// service, highest severity and keys (`LogKeys`) allow a match, in time order, each decoded
/// and its records checked one by one. Blocks may overlap in time (a batch can carry old
/// records), so the search keeps the best `limit` records so far in the query's order —
/// (time, arrival number) — and stops at the first block that starts after the last of them
/// (ends before it, newest first). The candidates are listed without their data, so however
/// SQLite orders them it never sorts blobs; each block's data is read when its turn comes.
///
/// Each block decoded costs its records from a read budget shared by the query's days
/// (`LogReadBudget`). When the budget runs out, the next block's bound (its latest time newest
/// first, its earliest oldest first) splits the range: every record beyond it was in a block
/// read, so the matches beyond it are answered whole, those on its side are left to a query
/// resumed from it.
struct LogBlockSearch {
    /// What a block costs at least, however few records it holds (its read and decompression).
    static let leastBlockCost = 64

    let query: LogQuery
    let limit: Int

    private struct Found {
        var time: UInt64
        var sequence: UInt64
        var block: Int64
        var index: Int
        var log: QueryAPI.Log?
    }

    /// The matches of this day, and where the search stopped when `budget` ran out.
    func run(in database: SQLiteDatabase, budget: inout LogReadBudget) throws -> (logs: [QueryAPI.Log], resumeUnixNano: UInt64?) {
        guard limit > 0 else { return ([], nil) }
        var conditions = ["min_time <= ?", "max_time >= ?"]
        let key = query.traceID.map(SearchTerm.logTrace) ?? query.correlationID.map(SearchTerm.logCorrelation)
        if key != nil { conditions.append("id IN (SELECT value FROM json_each(?))") }
        if query.service != nil { conditions.append("service = ?") }
        if query.minSeverity != nil { conditions.append("max_severity >= ?") }
        let order = query.newestFirst ? "max_time DESC, id DESC" : "min_time ASC, id ASC"
        let statement = try database.statement("""
            SELECT id, min_time, max_time, service FROM log_blocks
            WHERE \(conditions.joined(separator: " AND ")) ORDER BY \(order)
            """)
        // Also when a block turns out damaged: a statement left stepping would hold its read
        // snapshot, and every later query of the partition would see nothing newer.
        defer { statement.reset() }
        let data = try database.statement("SELECT data FROM log_blocks WHERE id = ?")
        defer { data.reset() }
        var index: Int32 = 1
        func next() -> Int32 { defer { index += 1 }; return index }
        let end = min(query.endUnixNano, UInt64(Int64.max))
        statement.bind(next(), end).bind(next(), query.startUnixNano)
        if let key {
            let candidates = try LogKeys.blocks(withKey: key, in: database)
            guard !candidates.isEmpty else { return ([], nil) }
            statement.bind(next(), "[" + candidates.map(String.init).joined(separator: ",") + "]")
        }
        if let service = query.service { statement.bind(next(), service) }
        if let severity = query.minSeverity { statement.bind(next(), severity) }

        var found = [Found]()
        let first: (Found, Found) -> Bool = query.newestFirst
            ? { ($0.time, $0.sequence) > ($1.time, $1.sequence) }
            : { ($0.time, $0.sequence) < ($1.time, $1.sequence) }
        while try statement.step() {
            let id = statement.int64(0)
            if found.count >= limit {
                let last = found[limit - 1].time
                if query.newestFirst ? statement.uint64(2) < last : statement.uint64(1) > last { break }
            }
            // Newest first no unread block holds a record later than its bound, oldest first none earlier.
            let bound = query.newestFirst ? min(statement.uint64(2), end) : max(statement.uint64(1), query.startUnixNano)
            let spansEdge = query.newestFirst ? bound >= end : bound <= query.startUnixNano
            if !budget.mayRead(spansEdge: spansEdge) {
                let whole = found.filter { query.newestFirst ? $0.time > bound : $0.time < bound }
                return (whole.compactMap(\.log), bound)
            }
            data.bind(1, id)
            guard try data.step() else { throw DamagedStoredData(what: "log block \(id) (missing)") }
            let block = try data.withBlob(0) { try Self.decode(id, compressed: $0) }
            data.reset()
            budget.charge(max(block.records.count, Self.leastBlockCost), spansEdge: spansEdge)
            let before = found.count
            for (position, record) in block.records.enumerated() where matches(record, position, in: block) {
                found.append(Found(time: record.timeUnixNano, sequence: record.sequence, block: id, index: position))
            }
            guard found.count > before else { continue }
            found.sort(by: first)
            if found.count > limit { found.removeLast(found.count - limit) }
            // Only this block's records that are still among the best are built; a later block
            // may push some out again, but never more than `limit` are built per block.
            let service = statement.string(3)
            for slot in found.indices where found[slot].block == id && found[slot].log == nil {
                found[slot].log = block.apiLog(found[slot].index, service: service)
            }
        }
        return (found.compactMap(\.log), nil)
    }

    private func matches(_ record: LogBlock.Record, _ position: Int, in block: LogBlock) -> Bool {
        guard record.timeUnixNano >= query.startUnixNano, record.timeUnixNano <= query.endUnixNano else { return false }
        if let traceID = query.traceID, record.traceID != traceID { return false }
        if let correlation = query.correlationID, !block.hasCorrelationID(position, correlation) { return false }
        if let severity = query.minSeverity, record.severityNumber < severity { return false }
        if let text = query.contains, !block.bodyContains(position, text) { return false }
        return true
    }

    /// Decompresses and decodes stored block `id`.
    static func decode(_ id: Int64, compressed: UnsafeRawBufferPointer) throws -> LogBlock {
        try LogBlock(decoding: DamagedStoredData.decompress(compressed, what: "log block \(id)"))
    }
}

/// What one log search may still decode, in records. Blocks spanning the range's own edge (its
/// end newest first, its start oldest first: a backfill's blocks can span a day) come first and
/// leave nothing whole however many are read, so they draw on an allowance of their own, one
/// budget, before the main one: a search resumed from its bound pays again for the blocks
/// spanning it, and still moves on by up to a budget's worth of others. At most about twice
/// the budget in all; when the blocks spanning the edge alone take both, nothing is whole.
struct LogReadBudget {
    private var left: Int
    private var edge: Int

    init(_ records: Int) {
        left = records
        edge = records
    }

    /// Whether the next block may be decoded.
    func mayRead(spansEdge: Bool) -> Bool { left > 0 || (spansEdge && edge > 0) }

    mutating func charge(_ records: Int, spansEdge: Bool) {
        if spansEdge, edge > 0 { edge -= records } else { left -= records }
    }
}
