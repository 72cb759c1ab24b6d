import PeriscopeCompression
import PeriscopeModel
import PeriscopeOTLP

/// Writes log records as log blocks inside the caller's transaction: one block per service per
/// batch (a new one every `LogBlockEncoder.maxRecords` records or `maxBytes` bytes), its row in
/// `log_blocks` with its time range and highest severity for queries to skip it by, and its
/// trace and correlation IDs in `log_block_keys` (`LogKeys`). Each record carries its arrival
/// number in the partition (`LogBlockEntry.sequence`), so records of equal time come back in
/// the order they arrived, whichever block holds them.
struct LogBlockWriter {
    /// Uncompressed bytes after which a block is written even if it holds fewer records: far
    /// below what a reader decompresses (`SpanBlockCache.maxBlockBytes`), so large records
    /// cannot make a block unreadable.
    static let maxBytes = 16 << 20
    /// Most uncompressed bytes the open blocks hold together; past that, the largest is written.
    /// Many services interleaved (an upgrade's rows, a batch of many resources) still fill their
    /// blocks, and memory stays bounded however many there are.
    static let maxBufferedBytes = 64 << 20

    private struct Pending {
        let service: String
        var encoder = LogBlockEncoder()
        var resources: [Int64: Int] = [:]
        var keys = Set<UInt64>()
    }

    let database: SQLiteDatabase
    /// `maxBytes` and `maxBufferedBytes` for this writer (smaller in tests).
    let blockBytes: Int
    let bufferBytes: Int
    /// The open block of each service, in the order its first record came.
    private var pending: [Pending] = []
    private var slots: [String: Int] = [:]
    private var bufferedBytes = 0
    private(set) var records = 0

    init(database: SQLiteDatabase, blockBytes: Int = Self.maxBytes, bufferBytes: Int = Self.maxBufferedBytes) {
        self.database = database
        self.blockBytes = blockBytes
        self.bufferBytes = bufferBytes
    }

    /// Writes the records of a batch (one day's part of it); returns how many.
    static func insert(_ groups: [ResourceLogs], into database: SQLiteDatabase) throws -> Int {
        var writer = LogBlockWriter(database: database)
        // Records stored before this batch: the partition's `logs` counter, kept in the same transactions.
        let stored = UInt64(clamping: try database.integer("SELECT value FROM counters WHERE name = 'logs'"))
        for group in groups {
            let resource = try ResourceRows.id(of: group.resource, in: database)
            let service = group.resource.serviceName
            for scope in group.scopes {
                for record in scope.records {
                    let sequence = stored &+ UInt64(writer.records) &+ 1
                    try writer.add(LogBlockEntry(record, resource: 0, sequence: sequence), service: service, resourceID: resource)
                }
            }
        }
        try writer.finish()
        return writer.records
    }

    /// Adds a record of `service` from resource row `resourceID` (its `resource` index is set here).
    mutating func add(_ entry: LogBlockEntry, service: String, resourceID: Int64) throws {
        let slot: Int
        if let last = pending.indices.last, pending[last].service == service {
            slot = last
        } else if let known = slots[service] {
            slot = known
        } else {
            slot = pending.count
            pending.append(Pending(service: service))
            slots[service] = slot
            try database.statement("INSERT OR IGNORE INTO log_services (service) VALUES (?)").bind(1, service).run()
        }
        var entry = entry
        if let index = pending[slot].resources[resourceID] {
            entry.resource = index
        } else {
            entry.resource = pending[slot].encoder.addResource(resourceID)
            pending[slot].resources[resourceID] = entry.resource
        }
        let before = pending[slot].encoder.recordBytes
        pending[slot].encoder.add(entry)
        bufferedBytes += pending[slot].encoder.recordBytes - before
        LogKeys.add(traceID: entry.traceID, correlationID: entry.correlationID, to: &pending[slot].keys)
        records += 1
        if pending[slot].encoder.count == LogBlockEncoder.maxRecords || pending[slot].encoder.recordBytes >= blockBytes {
            try write(slot)
        }
        if bufferedBytes > bufferBytes, let largest = pending.indices.max(by: { pending[$0].encoder.recordBytes < pending[$1].encoder.recordBytes }) {
            try write(largest)
        }
    }

    /// Writes the blocks still open.
    mutating func finish() throws {
        for slot in pending.indices { try write(slot) }
        pending.removeAll()
        slots.removeAll()
        bufferedBytes = 0
    }

    private mutating func write(_ slot: Int) throws {
        let block = pending[slot]
        guard block.encoder.count > 0 else { return }
        pending[slot] = Pending(service: block.service)
        bufferedBytes -= block.encoder.recordBytes
        let data = Zstd.compress(block.encoder.encoded(), level: SpanBatchWriter.compressionLevel)
        try database.statement("""
            INSERT INTO log_blocks (service, min_time, max_time, max_severity, records, data) VALUES (?, ?, ?, ?, ?, ?)
            """)
            .bind(1, block.service).bind(2, block.encoder.minTime).bind(3, block.encoder.maxTime)
            .bind(4, block.encoder.maxSeverity).bind(5, block.encoder.count).bind(6, blob: data).run()
        try LogKeys.insert(block: database.lastInsertRowID, keys: block.keys, into: database)
    }
}
