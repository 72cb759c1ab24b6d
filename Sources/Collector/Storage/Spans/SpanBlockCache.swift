import PeriscopeTelemetry
import Synchronization

/// The recently read span blocks of one partition, decoded, so the candidates of one search
/// (which cluster in the newest blocks) and repeated trace reads decompress a block once.
/// Blocks never change once committed, so a cached block is never stale.
final class SpanBlockCache: Sendable {
    private struct Entries {
        var blocks: [Int64: SpanBlock] = [:]
        var order: [Int64] = []
    }

    private let capacity: Int
    private let entries = Mutex(Entries())

    init(capacity: Int = 64) {
        self.capacity = capacity
    }

    /// The decoded block `id`, read through `database` if it is not cached.
    func block(_ id: Int64, in database: SQLiteDatabase) throws -> SpanBlock {
        if let cached = entries.withLock({ $0.blocks[id] }) { return cached }
        let block = try Self.read(id, from: database)
        entries.withLock { entries in
            guard entries.blocks[id] == nil else { return }
            if entries.order.count >= capacity {
                entries.blocks[entries.order.removeFirst()] = nil
            }
            entries.blocks[id] = block
            entries.order.append(id)
        }
        return block
    }

    /// Trace `ordinal` of block `id`: the cached block, or else only that trace's spans decoded
    /// (as trace 0 of the returned block), not cached — a trace read needs no more.
    func trace(_ ordinal: Int, ofBlock id: Int64, in database: SQLiteDatabase) throws -> (block: SpanBlock, ordinal: Int) {
        if let cached = entries.withLock({ $0.blocks[id] }) { return (cached, ordinal) }
        return (try Self.read(id, from: database, traces: ordinal..<(ordinal + 1)), 0)
    }

    /// Most bytes a stored block may decompress to (the writer keeps blocks far smaller).
    static let maxBlockBytes = 256 << 20

    /// Reads and decodes block `id` (or only its traces `traces`) without caching it.
    static func read(_ id: Int64, from database: SQLiteDatabase, traces: Range<Int>? = nil) throws -> SpanBlock {
        let statement = try database.statement("SELECT data FROM span_blocks WHERE id = ?").bind(1, id)
        guard try statement.step() else { throw DamagedStoredData(what: "span block \(id) (missing)") }
        defer { statement.reset() }
        let raw: [UInt8]
        do {
            raw = try statement.withBlob(0) { try Zstd.decompressFrame($0, limit: maxBlockBytes) }
        } catch {
            throw DamagedStoredData(what: "span block \(id) (\(error))")
        }
        return try raw.withUnsafeBytes { try SpanBlock(decoding: $0, traces: traces) }
    }
}
