import PeriscopeModel

/// How logs are found by trace ID and correlation ID: a `log_block_keys` row per (log block,
/// distinct key in it), keyed by (bucket of the block's ID, hashed key). A batch's rows land in
/// the newest bucket's few pages instead of one random page each, which is most of what an
/// index insert costs; a lookup probes each bucket. 64 blocks per bucket keeps a bucket of full
/// blocks (2,048 records, each with its own trace) within the page cache, and a day of a
/// million small blocks at about 16,000 probes.
enum LogKeys {
    /// Blocks per bucket, as a shift.
    static let bucketShift = 6

    static func bucket(_ block: Int64) -> Int64 { block >> Int64(bucketShift) }

    /// Adds the keys of a record with this trace and correlation ID to a block's `keys`.
    static func add(traceID: TraceID?, correlationID: String, to keys: inout Set<UInt64>) {
        if let traceID { keys.insert(SearchTerm.logTrace(traceID)) }
        if !correlationID.isEmpty { keys.insert(SearchTerm.logCorrelation(correlationID)) }
    }

    /// Records the keys of block `block` (inside the batch's transaction).
    static func insert(block: Int64, keys: Set<UInt64>, into database: SQLiteDatabase) throws {
        let statement = try database.statement("INSERT OR IGNORE INTO log_block_keys (bucket, key, block) VALUES (?, ?, ?)")
        for key in keys.sorted() {
            try statement.bind(1, bucket(block)).bind(2, key).bind(3, block).run()
        }
    }

    /// The IDs of the blocks that may hold a record with `key` (a hash: the caller checks each
    /// record), ascending.
    static func blocks(withKey key: UInt64, in database: SQLiteDatabase) throws -> [Int64] {
        let last = Int64(try database.integer("SELECT coalesce(max(id), 0) FROM log_blocks"))
        let statement = try database.statement("SELECT block FROM log_block_keys WHERE bucket = ? AND key = ?")
        defer { statement.reset() }
        var out = [Int64]()
        for bucket in 0...max(0, bucket(last)) {
            statement.bind(1, bucket).bind(2, key)
            while try statement.step() { out.append(statement.int64(0)) }
        }
        return out
    }
}
