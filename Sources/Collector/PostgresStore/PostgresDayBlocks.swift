import NIOCore
import PeriscopeModel
import PostgresNIO

/// One day's span blocks in the PostgreSQL store, read through one session. A block page
/// brings the blocks' search terms with it, so a search reads each block's terms once
/// without another round trip.
final class PostgresDayBlocks: SpanBlockSource {
    let session: PostgresSession
    let day: PartitionDay
    let cache: SpanBlockCache
    /// Segments already read for a trace (a trace read takes every day's in one query).
    private let preloaded: [TraceID: [TraceSegment]]?
    private var terms: [Int64: TermTable] = [:]
    /// Blocks' stored (compressed) bytes read ahead by `prefetchBlocks`, decoded on use (only
    /// the trace a read needs), for this source's reads only.
    private var stored: [Int64: ByteBuffer] = [:]

    /// Most blocks `prefetchBlocks` reads at once.
    static let prefetchBlocks = 16
    /// Most stored bytes `prefetchBlocks` reads before its last block (so at least one block, however large).
    static let prefetchBytes = 8 << 20

    init(session: PostgresSession, day: PartitionDay, cache: SpanBlockCache, segments: [TraceID: [TraceSegment]]? = nil) {
        self.session = session
        self.day = day
        self.cache = cache
        preloaded = segments
    }

    func blockPage(from start: UInt64, to end: UInt64, after: (maxStart: UInt64, id: Int64)?, limit: Int) throws
        -> [(id: Int64, maxStart: UInt64)] {
        let afterStart = after.map { Int64(clamping: $0.maxStart) } ?? Int64.max
        let afterID = after?.id ?? Int64.max
        let rows = try session.query("""
            SELECT id, max_start, terms FROM periscope.span_blocks
            WHERE day = \(day.index) AND max_start >= \(Int64(clamping: start)) AND min_start <= \(Int64(clamping: end))
              AND (max_start, id) < (\(afterStart), \(afterID))
            ORDER BY max_start DESC, id DESC LIMIT \(limit)
            """, "listing span blocks")
        terms.removeAll(keepingCapacity: true)
        return try rows.map { row in
            let (id, maxStart, bytes) = try row.decode((Int64, Int64, ByteBuffer).self)
            terms[id] = try TermTable(Array(bytes.readableBytesView))
            return (id, UInt64(clamping: maxStart))
        }
    }

    func terms(of block: Int64) throws -> TermTable {
        if let known = terms[block] { return known }
        let row = try session.query("SELECT terms FROM periscope.span_blocks WHERE day = \(day.index) AND id = \(block)", "reading a block's terms").first
        guard let bytes = try row?.decode(ByteBuffer.self) else { throw DamagedStoredData(what: "span search index of block \(block) (missing)") }
        return try TermTable(Array(bytes.readableBytesView))
    }

    func block(_ id: Int64) throws -> SpanBlock {
        try cache.block(id) { try read(id) }
    }

    func trace(_ ordinal: Int, ofBlock id: Int64) throws -> (block: SpanBlock, ordinal: Int) {
        if let cached = cache.cached(id) { return (cached, ordinal) }
        return (try read(id, traces: ordinal..<(ordinal + 1)).block, 0)
    }

    private func read(_ id: Int64, traces: Range<Int>? = nil) throws -> (block: SpanBlock, bytes: Int) {
        if let data = stored[id] {
            return try data.withUnsafeReadableBytes { try SpanBlockCache.decode(id, compressed: $0, traces: traces) }
        }
        let row = try session.query("SELECT data FROM periscope.span_blocks WHERE day = \(day.index) AND id = \(id)", "reading a span block").first
        guard let data = try row?.decode(ByteBuffer.self) else { throw DamagedStoredData(what: "span block \(id) (missing)") }
        return try data.withUnsafeReadableBytes { try SpanBlockCache.decode(id, compressed: $0, traces: traces) }
    }

    /// Reads the stored bytes of blocks the preloaded segments name and the cache lacks in one
    /// statement — one block per trace first, then the traces' further blocks, at most
    /// `prefetchBlocks` and `prefetchBytes` — so summarising a group of traces, or reading a
    /// trace spread over blocks, costs one round trip rather than one per block. A single block
    /// is left to `trace(_:ofBlock:)`. Each trace is then decoded alone from the bytes, except
    /// from a block several of the traces share, which is decoded once into the cache.
    func prefetchBlocks() throws {
        guard let preloaded else { return }
        var sharers = [Int64: Int]()
        for segments in preloaded.values { for block in Set(segments.map(\.block)) { sharers[block, default: 0] += 1 } }
        let missing = { (block: Int64) in self.stored[block] == nil && self.cache.cached(block) == nil }
        // Shared blocks first, then one block per trace, then the traces' further blocks.
        var wanted = sharers.filter { $0.value > 1 && missing($0.key) }.keys.sorted().prefix(Self.prefetchBlocks).map { $0 }
        var chosen = Set(wanted)
        let queues = preloaded.keys.sorted().map { traceID in preloaded[traceID, default: []].map(\.block).filter(missing) }
        var round = 0
        while wanted.count < Self.prefetchBlocks, queues.contains(where: { $0.count > round }) {
            for queue in queues where queue.count > round && wanted.count < Self.prefetchBlocks && chosen.insert(queue[round]).inserted {
                wanted.append(queue[round])
            }
            round += 1
        }
        guard wanted.count > 1 || wanted.first.map({ sharers[$0, default: 0] > 1 }) == true else { return }
        // `octet_length` of a stored value reads its size, not its bytes; the byte cap keeps
        // the blocks in the order chosen above.
        let rows = try session.query("""
            SELECT w.id, CASE WHEN sum(octet_length(b.data)) OVER (ORDER BY w.n ROWS UNBOUNDED PRECEDING) - octet_length(b.data) < \(Self.prefetchBytes)
                THEN b.data END
            FROM unnest(\(wanted)) WITH ORDINALITY AS w(id, n)
            JOIN periscope.span_blocks AS b ON b.day = \(day.index) AND b.id = w.id
            """, "reading span blocks")
        for row in rows {
            let (id, data) = try row.decode((Int64, ByteBuffer?).self)
            guard let data else { continue }
            stored[id] = data
            // A block several of the traces share is decoded once, whole, into the cache.
            if sharers[id, default: 0] > 1 {
                _ = try cache.block(id) { try data.withUnsafeReadableBytes { try SpanBlockCache.decode(id, compressed: $0) } }
            }
        }
    }

    func segments(of traceID: TraceID) throws -> [TraceSegment]? {
        if let preloaded { return preloaded[traceID] }
        let rows = try session.query("""
            SELECT segment FROM periscope.trace_segments WHERE day = \(day.index) AND trace_id = \(ByteBuffer(bytes: traceID.bytes))
            """, "reading a trace's segments")
        guard !rows.isEmpty else { return nil }
        return try rows.flatMap { try TraceSegment.decode(Array(try $0.decode(ByteBuffer.self).readableBytesView)) }
            .sorted { $0.block < $1.block }
    }

    func segments(of traceIDs: [TraceID]) throws -> [TraceID: [TraceSegment]] {
        let unique = Set(traceIDs)
        if let preloaded { return preloaded.filter { unique.contains($0.key) } }
        return try Self.segments(of: traceIDs, day: day, session)[day] ?? [:]
    }

    /// Traces' segments by day, of one `day` or of every day (nil), each trace's in block order,
    /// in statements of at most 1,000 traces each.
    static func segments(of traceIDs: [TraceID], day: PartitionDay?, _ session: PostgresSession) throws -> [PartitionDay: [TraceID: [TraceSegment]]] {
        var out = [PartitionDay: [TraceID: [TraceSegment]]]()
        let ids = Array(Set(traceIDs))
        // An integer of our own, so written into the text: the planner then reads one day's partition.
        let oneDay = day.map { " AND s.day = \($0.index)" } ?? ""
        for first in stride(from: 0, to: ids.count, by: 1_000) {
            var binds = PostgresBindings()
            binds.append(ids[first..<min(first + 1_000, ids.count)].map { ByteBuffer(bytes: $0.bytes) })
            let query = PostgresQuery(unsafeSQL: """
                SELECT s.day, s.trace_id, s.segment FROM unnest($1::bytea[]) AS u(t)
                JOIN periscope.trace_segments AS s ON s.trace_id = u.t\(oneDay)
                """, binds: binds)
            for row in try session.query(query, "reading traces' segments") {
                let (day, id, segment) = try row.decode((Int, ByteBuffer, ByteBuffer).self)
                guard let traceID = TraceID(bytes: Array(id.readableBytesView)) else { continue }
                out[PartitionDay(index: day), default: [:]][traceID, default: []].append(contentsOf: try TraceSegment.decode(Array(segment.readableBytesView)))
            }
        }
        return out.mapValues { $0.mapValues { $0.sorted { $0.block < $1.block } } }
    }

    func blocks(from start: UInt64, to end: UInt64) throws -> [Int64] {
        try session.query("""
            SELECT id FROM periscope.span_blocks
            WHERE day = \(day.index) AND max_start >= \(Int64(clamping: start)) AND min_start <= \(Int64(clamping: end)) ORDER BY id
            """, "listing span blocks").map { try $0.decode(Int64.self) }
    }
}
