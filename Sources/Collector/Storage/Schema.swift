/// The tables of one partition (one UTC day). Spans are stored a batch at a time as compressed
/// span blocks grouped by trace (`SpanBlockEncoder`), with the block's search terms in one
/// `block_terms` row (`TermTable`) and a `trace_index` row per trace naming the blocks that
/// hold it (`TraceSegment`); logs are stored a batch and service at a time as compressed log
/// blocks (`LogBlockWriter`), indexed by time range and service, found by trace ID and
/// correlation ID through `log_block_keys` (`LogKeys`), and `log_services` lists their services;
/// `counters` keeps row counts; each partition records the batch IDs it stored, in the same
/// transaction, and the last span block its rollups include (`RollupWriter`).
enum Schema {
    /// Stored as the file's `user_version`. A file of version 7 is upgraded when opened
    /// (`SchemaUpgrade`); one of another version is refused.
    static let version: Int32 = 8

    static let statements = """
        CREATE TABLE IF NOT EXISTS resources (
            id INTEGER PRIMARY KEY,
            attributes BLOB NOT NULL UNIQUE
        );
        CREATE TABLE IF NOT EXISTS span_blocks (
            id INTEGER PRIMARY KEY,
            data BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS block_terms (
            block INTEGER PRIMARY KEY,
            min_start INTEGER NOT NULL,
            max_start INTEGER NOT NULL,
            spans INTEGER NOT NULL,
            terms BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS block_terms_by_max_start ON block_terms (max_start);
        CREATE TABLE IF NOT EXISTS trace_index (
            trace_id BLOB PRIMARY KEY,
            segments BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS counters (
            name TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT OR IGNORE INTO counters (name, value) VALUES
            ('spans', 0), ('traces', 0), ('logs', 0), ('metric_points', 0), ('ingested_batches', 0);
        INSERT OR IGNORE INTO counters (name, value) VALUES ('folded_operation_spans', 0);
        CREATE TABLE IF NOT EXISTS operations (
            service TEXT NOT NULL,
            name TEXT NOT NULL,
            kind INTEGER NOT NULL,
            PRIMARY KEY (service, name, kind)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS log_blocks (
            id INTEGER PRIMARY KEY,
            service TEXT NOT NULL,
            min_time INTEGER NOT NULL,
            max_time INTEGER NOT NULL,
            max_severity INTEGER NOT NULL,
            records INTEGER NOT NULL,
            data BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS log_blocks_by_min_time ON log_blocks (min_time, max_time);
        CREATE INDEX IF NOT EXISTS log_blocks_by_max_time ON log_blocks (max_time, min_time);
        CREATE INDEX IF NOT EXISTS log_blocks_by_service_min_time ON log_blocks (service, min_time);
        CREATE INDEX IF NOT EXISTS log_blocks_by_service_max_time ON log_blocks (service, max_time);
        CREATE TABLE IF NOT EXISTS log_services (
            service TEXT PRIMARY KEY
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS log_block_keys (
            bucket INTEGER NOT NULL,
            key INTEGER NOT NULL,
            block INTEGER NOT NULL,
            PRIMARY KEY (bucket, key, block)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS metric_points (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            service TEXT NOT NULL,
            kind TEXT NOT NULL,
            time_ns INTEGER NOT NULL,
            value REAL,
            attributes BLOB NOT NULL,
            histogram BLOB,
            resource_id INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS metric_points_by_name_time ON metric_points (name, time_ns);
        \(RollupTables.statements)
        CREATE TABLE IF NOT EXISTS ingested_batches (
            batch_id TEXT PRIMARY KEY,
            received_ns INTEGER NOT NULL
        ) WITHOUT ROWID;
        """
}
