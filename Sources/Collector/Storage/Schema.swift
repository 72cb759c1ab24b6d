/// The store's tables. Spans are clustered by (trace ID, span ID), so a trace is one range
/// read; logs are indexed by trace ID and time; batch IDs make re-sent batches no-ops.
enum Schema {
    static let version = 1

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
        CREATE TABLE IF NOT EXISTS logs (
            id INTEGER PRIMARY KEY,
            time_ns INTEGER NOT NULL,
            observed_ns INTEGER NOT NULL,
            service TEXT NOT NULL,
            severity_number INTEGER NOT NULL,
            severity_text TEXT NOT NULL,
            body BLOB NOT NULL,
            attributes BLOB NOT NULL,
            trace_id BLOB,
            span_id INTEGER,
            resource_id INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS logs_by_trace ON logs (trace_id, time_ns) WHERE trace_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS logs_by_service_time ON logs (service, time_ns);
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
        CREATE TABLE IF NOT EXISTS ingested_batches (
            batch_id TEXT PRIMARY KEY,
            received_ns INTEGER NOT NULL
        ) WITHOUT ROWID;
        """
}
