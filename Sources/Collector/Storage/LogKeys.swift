import PeriscopeModel

/// How logs are found by trace ID and correlation ID: a `log_keys` row per (record, key), keyed
/// by (bucket of the record's ID, hashed key). A batch's rows land in the newest bucket's few
/// pages instead of one random page each, which is most of what an index insert costs; a lookup
/// probes each bucket, a few hundred for a day of a million records.
enum LogKeys {
    /// Records per bucket.
    static let bucketShift = 12

    static func bucket(_ log: Int64) -> Int64 { log >> Int64(bucketShift) }

    /// Records the keys of record `log` (inside the batch's transaction).
    static func insert(log: Int64, traceID: TraceID?, correlationID: String?, into database: SQLiteDatabase) throws {
        let statement = try database.statement("INSERT OR IGNORE INTO log_keys (bucket, key, log) VALUES (?, ?, ?)")
        for key in [traceID.map(SearchTerm.logTrace), correlationID.map(SearchTerm.logCorrelation)].compactMap({ $0 }) {
            try statement.bind(1, bucket(log)).bind(2, key).bind(3, log).run()
        }
    }

    /// The IDs of the records that may carry `key` (a hash: the caller checks the record), ascending.
    static func logs(withKey key: UInt64, in database: SQLiteDatabase) throws -> [Int64] {
        let last = Int64(try database.integer("SELECT coalesce(max(id), 0) FROM logs"))
        let statement = try database.statement("SELECT log FROM log_keys WHERE bucket = ? AND key = ?")
        var out = [Int64]()
        for bucket in 0...bucket(last) {
            statement.bind(1, bucket).bind(2, key)
            while try statement.step() { out.append(statement.int64(0)) }
        }
        return out
    }
}
