import Foundation
import PeriscopeModel

/// Brings a partition file written by an older collector up to `Schema.version`, in one
/// transaction: a crash part-way leaves the file as it was, to be upgraded at the next start.
enum SchemaUpgrade {
    /// The oldest schema this collector upgrades; older files are refused.
    static let oldestUpgradable: Int32 = 7

    /// Upgrades the file at `path`, open in `database`, from `version`; returns how many log
    /// records moved. Says on standard error what it does, since a large day takes a while.
    static func upgrade(_ database: SQLiteDatabase, path: String, from version: Int) throws -> Int {
        precondition(version >= Int(oldestUpgradable) && version < Int(Schema.version))
        let started = ContinuousClock.now
        FileHandle.standardError.write(Data("periscope-collector: upgrading \(path) from storage schema \(version) to \(Schema.version) (log rows into log blocks)\n".utf8))
        let moved = try database.transaction {
            try database.execute(Schema.statements)
            let moved = try logRowsToBlocks(database)
            try database.execute("PRAGMA user_version=\(Schema.version);")
            return moved
        }
        let compacted = compact(database, path: path)
        FileHandle.standardError.write(Data("periscope-collector: upgraded \(path): \(moved) log records in \(started.duration(to: .now)), \(compacted)\n".utf8))
        return moved
    }

    /// Gives back the old rows' pages (`VACUUM`) when they are most of the file and the disk
    /// has room for the copy SQLite writes; says what it did. The upgrade has committed either
    /// way: a file left as it is only keeps its free pages for new data.
    private static func compact(_ database: SQLiteDatabase, path: String) -> String {
        defer { try? database.execute("PRAGMA wal_checkpoint(TRUNCATE);") }
        do {
            let pageSize = try database.integer("PRAGMA page_size")
            let pages = try database.integer("PRAGMA page_count")
            let free = try database.integer("PRAGMA freelist_count")
            guard free * 2 > pages else { return "not compacted (\(free) of \(pages) pages free)" }
            // VACUUM writes the live pages twice: a temporary copy, then the WAL.
            let needed = (pages - free) * pageSize * 2
            var disk = statvfs()
            let directory = (path as NSString).deletingLastPathComponent
            if statvfs(directory.isEmpty ? "." : directory, &disk) == 0 {
                let available = Int(clamping: UInt64(disk.f_bavail).multipliedReportingOverflow(by: UInt64(disk.f_frsize)).partialValue)
                guard available > needed else {
                    return "not compacted (\(needed >> 20) MiB needed, \(available >> 20) MiB free on disk); its free pages will hold new data"
                }
            }
            try database.execute("VACUUM")
            return "compacted to \(((pages - free) * pageSize) >> 20) MiB"
        } catch {
            return "not compacted (\(error)); its free pages will hold new data"
        }
    }

    /// Schema 7 → 8: the `logs` rows (one per record, with two indexes and a `log_keys` row per
    /// key) become log blocks, read in the order they were stored (that order numbers their
    /// arrival), each service's records into its own blocks. The `logs` counter becomes the
    /// number of records moved, so the arrival numbers of later batches follow on.
    private static func logRowsToBlocks(_ database: SQLiteDatabase) throws -> Int {
        var writer = LogBlockWriter(database: database)
        // A file whose first start was cut short may lack the table; there is nothing to move.
        if try database.integer("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'logs'") > 0 {
            let rows = try database.statement("""
                SELECT id, time_ns, observed_ns, service, severity_number, severity_text, body, attributes,
                    trace_id, span_id, correlation_id, resource_id
                FROM logs ORDER BY id
                """)
            while try rows.step() {
                let entry = LogBlockEntry(
                    timeUnixNano: rows.uint64(1), observedTimeUnixNano: rows.uint64(2), severityNumber: rows.int(4),
                    severityText: rows.string(5), body: rows.blob(6), attributes: rows.blob(7),
                    traceID: rows.isNull(8) ? nil : TraceID(bytes: rows.blob(8)), spanID: rows.isNull(9) ? nil : SpanID(rows.uint64(9)),
                    flags: 0, eventName: "", correlationID: rows.isNull(10) ? "" : rows.string(10), resource: 0,
                    sequence: UInt64(writer.records) + 1)
                try writer.add(entry, service: rows.string(3), resourceID: rows.int64(11))
            }
            try writer.finish()
        }
        try database.statement("UPDATE counters SET value = ? WHERE name = 'logs'").bind(1, writer.records).run()
        try database.execute("DROP TABLE IF EXISTS logs; DROP TABLE IF EXISTS log_keys;")
        return writer.records
    }
}
