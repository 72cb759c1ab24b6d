import PeriscopeModel

/// Brings a partition file written by an older collector up to `Schema.version`, in one
/// transaction: a crash part-way leaves the file as it was, to be upgraded at the next start.
enum SchemaUpgrade {
    /// The oldest schema this collector upgrades; older files are refused.
    static let oldestUpgradable: Int32 = 7

    /// Upgrades the file open in `database` from `version`; returns how many log records moved.
    static func upgrade(_ database: SQLiteDatabase, from version: Int) throws -> Int {
        precondition(version >= Int(oldestUpgradable) && version < Int(Schema.version))
        return try database.transaction {
            try database.execute(Schema.statements)
            let moved = try logRowsToBlocks(database)
            try database.execute("PRAGMA user_version=\(Schema.version);")
            return moved
        }
    }

    /// Schema 7 → 8: the `logs` rows (one per record, with two indexes and a `log_keys` row per
    /// key) become log blocks, a service's records in the order they were stored.
    private static func logRowsToBlocks(_ database: SQLiteDatabase) throws -> Int {
        let rows = try database.statement("""
            SELECT time_ns, observed_ns, service, severity_number, severity_text, body, attributes,
                trace_id, span_id, correlation_id, resource_id
            FROM logs ORDER BY service, id
            """)
        var writer = LogBlockWriter(database: database)
        var service: String?
        while try rows.step() {
            let rowService = rows.string(2)
            if rowService != service {
                try writer.finish()
                service = rowService
            }
            let entry = LogBlockEntry(
                timeUnixNano: rows.uint64(0), observedTimeUnixNano: rows.uint64(1), severityNumber: rows.int(3),
                severityText: rows.string(4), body: rows.blob(5), attributes: rows.blob(6),
                traceID: rows.isNull(7) ? nil : TraceID(bytes: rows.blob(7)), spanID: rows.isNull(8) ? nil : SpanID(rows.uint64(8)),
                flags: 0, eventName: "", correlationID: rows.isNull(9) ? "" : rows.string(9), resource: 0)
            try writer.add(entry, service: rowService, resourceID: rows.int64(10))
        }
        try writer.finish()
        try database.execute("DROP TABLE logs; DROP TABLE log_keys;")
        return writer.records
    }
}
