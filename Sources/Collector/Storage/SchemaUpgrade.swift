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
        // The old rows' pages are free now: give them back (the live data is a small part of them).
        // The upgrade has committed either way; a file left uncompacted only holds its free pages.
        let compacted: String
        do {
            try database.execute("VACUUM")
            compacted = "compacted"
        } catch {
            compacted = "not compacted (\(error)); its free pages will hold new data"
        }
        FileHandle.standardError.write(Data("periscope-collector: upgraded \(path): \(moved) log records in \(started.duration(to: .now)), \(compacted)\n".utf8))
        return moved
    }

    /// Schema 7 → 8: the `logs` rows (one per record, with two indexes and a `log_keys` row per
    /// key) become log blocks, read in the order they were stored (their row ID is their
    /// arrival number), each service's records into its own blocks.
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
                    sequence: rows.uint64(0))
                try writer.add(entry, service: rows.string(3), resourceID: rows.int64(11))
            }
            try writer.finish()
        }
        try database.execute("DROP TABLE IF EXISTS logs; DROP TABLE IF EXISTS log_keys;")
        return writer.records
    }
}
