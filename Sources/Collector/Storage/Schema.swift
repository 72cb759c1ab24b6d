/// The tables of one partition (one UTC day). Spans are clustered by (trace ID, span ID), so a
/// trace is one range read; each trace has a summary maintained at ingest; the attributes
/// users search on get an index table; logs are indexed by trace ID, correlation ID and
/// service/time; each partition records the batch IDs it stored, in the same transaction,
/// and journals what each batch adds to the rollups until they are flushed (`RollupWriter`).
enum Schema {
    static let version = 3

    static let statements = """
        CREATE TABLE IF NOT EXISTS resources (
            id INTEGER PRIMARY KEY,
            attributes BLOB NOT NULL UNIQUE
        );
        CREATE TABLE IF NOT EXISTS spans (
            trace_id BLOB NOT NULL,
            span_id INTEGER NOT NULL,
            parent_span_id INTEGER,
            service TEXT NOT NULL,
            name TEXT NOT NULL,
            kind INTEGER NOT NULL,
            start_ns INTEGER NOT NULL,
            end_ns INTEGER NOT NULL,
            status_code INTEGER NOT NULL,
            resource_id INTEGER NOT NULL,
            attributes BLOB NOT NULL,
            details BLOB NOT NULL,
            PRIMARY KEY (trace_id, span_id)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS spans_by_service_name_start ON spans (service, name, start_ns);
        CREATE INDEX IF NOT EXISTS spans_by_start ON spans (start_ns);
        CREATE TABLE IF NOT EXISTS span_attributes (
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            start_ns INTEGER NOT NULL,
            trace_id BLOB NOT NULL,
            span_id INTEGER NOT NULL,
            PRIMARY KEY (key, value, start_ns, trace_id, span_id)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS traces (
            trace_id BLOB PRIMARY KEY,
            start_ns INTEGER NOT NULL,
            end_ns INTEGER NOT NULL,
            span_count INTEGER NOT NULL,
            error_count INTEGER NOT NULL,
            root_service TEXT,
            root_name TEXT,
            services TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS traces_by_start ON traces (start_ns);
        CREATE TABLE IF NOT EXISTS operations (
            service TEXT NOT NULL,
            name TEXT NOT NULL,
            kind INTEGER NOT NULL,
            PRIMARY KEY (service, name, kind)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS logs (
            id INTEGER PRIMARY KEY,
            time_ns INTEGER NOT NULL,
            observed_ns INTEGER NOT NULL,
            service TEXT NOT NULL,
            severity_number INTEGER NOT NULL,
            severity_text TEXT NOT NULL,
            body BLOB NOT NULL,
            body_text TEXT NOT NULL,
            attributes BLOB NOT NULL,
            trace_id BLOB,
            span_id INTEGER,
            correlation_id TEXT,
            resource_id INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS logs_by_trace ON logs (trace_id, time_ns) WHERE trace_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS logs_by_correlation ON logs (correlation_id, time_ns) WHERE correlation_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS logs_by_service_time ON logs (service, time_ns);
        CREATE INDEX IF NOT EXISTS logs_by_time ON logs (time_ns);
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
