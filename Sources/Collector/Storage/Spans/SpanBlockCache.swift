import PeriscopeCompression
import Synchronization

/// The recently read span blocks of one partition, decoded, so the candidates of one search
/// (which cluster in the newest blocks) and repeated trace reads decompress a block once.
/// Blocks never change once committed, so a cached block is never stale. The cache holds at
/// most `capacity` blocks and `capacityBytes` of their decompressed bytes (oldest out first), so
/// a few huge blocks cannot hold hundreds of MiB per partition.
final class SpanBlockCache: Sendable {
    private struct Entries {
        var blocks: [Int64: (block: SpanBlock, bytes: Int)] = [:]
        var order: [Int64] = []
        var bytes = 0
    }

    private let capacity: Int
    private let capacityBytes: Int
    private let entries = Mutex(Entries())

    init(capacity: Int = 64, capacityBytes: Int = 32 << 20) {
        self.capacity = capacity
        self.capacityBytes = capacityBytes
    }

    /// Decompressed bytes of the blocks held now.
    var bytes: Int { entries.withLock { $0.bytes } }

    /// The decoded block `id`, read through `database` if it is not cached.
    func block(_ id: Int64, in database: SQLiteDatabase) throws -> SpanBlock {
        try block(id) { try Self.readSized(id, from: database) }
    }

    /// The decoded block `id`; `read` decodes it (with its decompressed size) when it is not cached.
    func block(_ id: Int64, read: () throws -> (block: SpanBlock, bytes: Int)) throws -> SpanBlock {
        if let cached = cached(id) { return cached }
        let (block, size) = try read()
        guard size <= capacityBytes else { return block }
        entries.withLock { entries in
            guard entries.blocks[id] == nil else { return }
            while !entries.order.isEmpty, entries.order.count >= capacity || entries.bytes + size > capacityBytes {
                if let evicted = entries.blocks.removeValue(forKey: entries.order.removeFirst()) { entries.bytes -= evicted.bytes }
            }
            entries.blocks[id] = (block, size)
            entries.order.append(id)
            entries.bytes += size
        }
        return block
    }

    /// Block `id` if it is cached.
    func cached(_ id: Int64) -> SpanBlock? { entries.withLock { $0.blocks[id]?.block } }

    /// Trace `ordinal` of block `id`: the cached block, or else only that trace's spans decoded
    /// (as trace 0 of the returned block), not cached — a trace read needs no more.
    func trace(_ ordinal: Int, ofBlock id: Int64, in database: SQLiteDatabase) throws -> (block: SpanBlock, ordinal: Int) {
        if let cached = cached(id) { return (cached, ordinal) }
        return (try Self.read(id, from: database, traces: ordinal..<(ordinal + 1)), 0)
    }

    /// Most bytes a stored block may decompress to (the writer keeps blocks far smaller).
    static let maxBlockBytes = 256 << 20

    /// Reads and decodes block `id` (or only its traces `traces`) without caching it.
    static func read(_ id: Int64, from database: SQLiteDatabase, traces: Range<Int>? = nil) throws -> SpanBlock {
        try readSized(id, from: database, traces: traces).block
    }

    /// Reads and decodes block `id`, with its decompressed size.
    private static func readSized(_ id: Int64, from database: SQLiteDatabase, traces: Range<Int>? = nil) throws -> (block: SpanBlock, bytes: Int) {
        let statement = try database.statement("SELECT data FROM span_blocks WHERE id = ?").bind(1, id)
        guard try statement.step() else { throw DamagedStoredData(what: "span block \(id) (missing)") }
        defer { statement.reset() }
        return try statement.withBlob(0) { try decode(id, compressed: $0, traces: traces) }
    }

    /// Decompresses and decodes stored block `id` (or only its traces `traces`), with its decompressed size.
    static func decode(_ id: Int64, compressed: UnsafeRawBufferPointer, traces: Range<Int>? = nil) throws -> (block: SpanBlock, bytes: Int) {
        let raw = try DamagedStoredData.decompress(compressed, what: "span block \(id)")
        return (try raw.withUnsafeBytes { try SpanBlock(decoding: $0, traces: traces) }, raw.count)
    }
}
