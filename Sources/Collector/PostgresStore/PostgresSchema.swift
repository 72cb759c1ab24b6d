/// The PostgreSQL store's tables, in schema `periscope`.
///
/// Spans, logs and metric points live in tables partitioned by day (declarative LIST
/// partitions, one child per UTC day, so retention drops whole tables and leaves no vacuum
/// debt). Spans are stored as in the SQLite store: a batch's spans grouped by trace into
/// zstd blocks (`SpanBlockEncoder`), stored as they are (`STORAGE EXTERNAL`: no second
/// compression), with the block's search terms (`TermTable`); `trace_segments` is the narrow
/// trace-ID index, one row per (trace, block), appended and never updated, so writers never
/// wait on each other's rows. Each batch adds one `batch_deltas` row (its rollup deltas and
/// row counts); one collector at a time, under an advisory lock, compacts them into the
/// rollup and count rows. The batch ID is claimed in the data's own transaction.
enum PostgresSchema {
    /// Stored in `periscope.schema_version`. An older database is brought up to date at start
    /// (every statement below is idempotent, and versions only add tables); a newer one is refused.
    /// 2: the shared alert log, SLO evaluation turns, cumulative-counter baselines, when each
    /// day was last analyzed, batch deltas stored uncompressed, hash indexes for the trace-ID
    /// index and for logs by trace and correlation ID (a 4-byte hash per entry, not the whole
    /// key: they are looked up by equality; a trace-ID prefix search scans), a text body kept
    /// once (`body` NULL), the correlation attribute kept once (`correlation_key`), log columns
    /// ordered to waste no alignment padding. Upgrading rebuilds those indexes: stop every
    /// collector, start one, then the others.
    /// 3: rollup rows compressed with lz4 where the server has it (`lz4Columns`). Since then
    /// also `collectors` (each collector's retention), which retention creates when it is missing,
    /// so collectors of version 3 keep working beside it.
    static let version = 3

    /// Columns TOAST compresses with lz4 rather than pglz, where the server was built with it
    /// (Debian's is): rollup rows are rewritten at every compaction and read whole by every
    /// signals or SLO question, and lz4 costs a fraction of pglz's CPU both ways for ~15 %
    /// more bytes. Rows written before keep their compression until rewritten.
    static let lz4Columns = [("request_rollups", "aggregates"), ("slo_rollups", "counts")]

    /// Advisory lock keys (two 32-bit halves: Periscope, job).
    enum Lock: Int32 {
        case migration = 1
        case days = 2
        case compaction = 3
        case sloEvaluation = 4
        case retention = 5

        static let namespace: Int32 = 0x5045_5253  // "PERS"
    }

    /// The tables partitioned by day, with the indexes each child gets from its parent.
    static let partitioned = ["span_blocks", "trace_segments", "logs", "metric_points"]

    static let statements = """
        CREATE SCHEMA IF NOT EXISTS periscope;
        CREATE TABLE IF NOT EXISTS periscope.schema_version (version int NOT NULL);
        CREATE TABLE IF NOT EXISTS periscope.days (day int PRIMARY KEY);
        ALTER TABLE periscope.days ADD COLUMN IF NOT EXISTS analyzed_rows bigint NOT NULL DEFAULT 0;
        CREATE TABLE IF NOT EXISTS periscope.ingested_batches (
            batch_id text PRIMARY KEY,
            received_ns bigint NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ingested_batches_by_received ON periscope.ingested_batches (received_ns);
        CREATE SEQUENCE IF NOT EXISTS periscope.span_block_ids;
        CREATE TABLE IF NOT EXISTS periscope.span_blocks (
            day int NOT NULL,
            id bigint NOT NULL,
            min_start bigint NOT NULL,
            max_start bigint NOT NULL,
            spans int NOT NULL,
            terms bytea NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (day, id)
        ) PARTITION BY LIST (day);
        ALTER TABLE periscope.span_blocks ALTER COLUMN data SET STORAGE EXTERNAL;
        ALTER TABLE periscope.span_blocks ALTER COLUMN terms SET STORAGE EXTERNAL;
        CREATE INDEX IF NOT EXISTS span_blocks_by_max_start ON periscope.span_blocks (day, max_start, id);
        CREATE TABLE IF NOT EXISTS periscope.trace_segments (
            day int NOT NULL,
            trace_id bytea NOT NULL,
            segment bytea NOT NULL
        ) PARTITION BY LIST (day);
        DROP INDEX IF EXISTS periscope.trace_segments_by_trace;
        CREATE INDEX IF NOT EXISTS trace_segments_by_trace_hash ON periscope.trace_segments USING hash (trace_id);
        CREATE SEQUENCE IF NOT EXISTS periscope.log_ids CACHE 64;
        CREATE TABLE IF NOT EXISTS periscope.logs (
            id bigint NOT NULL,
            time_ns bigint NOT NULL,
            observed_ns bigint NOT NULL,
            span_id bigint,
            day int NOT NULL,
            severity_number int NOT NULL,
            service text NOT NULL,
            severity_text text NOT NULL,
            body bytea NOT NULL,
            body_text text NOT NULL,
            attributes bytea NOT NULL,
            trace_id bytea,
            correlation_id text
        ) PARTITION BY LIST (day);
        ALTER TABLE periscope.logs ADD COLUMN IF NOT EXISTS correlation_key smallint;
        ALTER TABLE periscope.logs ALTER COLUMN body DROP NOT NULL;
        CREATE INDEX IF NOT EXISTS logs_by_service_time ON periscope.logs (service, time_ns);
        CREATE INDEX IF NOT EXISTS logs_by_time ON periscope.logs (time_ns);
        DROP INDEX IF EXISTS periscope.logs_by_trace;
        DROP INDEX IF EXISTS periscope.logs_by_correlation;
        CREATE INDEX IF NOT EXISTS logs_by_trace_hash ON periscope.logs USING hash (trace_id) WHERE trace_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS logs_by_correlation_hash ON periscope.logs USING hash (correlation_id) WHERE correlation_id IS NOT NULL;
        CREATE SEQUENCE IF NOT EXISTS periscope.metric_point_ids CACHE 64;
        CREATE TABLE IF NOT EXISTS periscope.metric_points (
            day int NOT NULL,
            id bigint NOT NULL,
            name text NOT NULL,
            service text NOT NULL,
            kind text NOT NULL,
            time_ns bigint NOT NULL,
            value double precision,
            attributes bytea NOT NULL,
            histogram bytea
        ) PARTITION BY LIST (day);
        CREATE INDEX IF NOT EXISTS metric_points_by_name_time ON periscope.metric_points (name, time_ns);
        CREATE TABLE IF NOT EXISTS periscope.operations (
            day int NOT NULL,
            service text NOT NULL,
            name text NOT NULL,
            kind int NOT NULL,
            PRIMARY KEY (day, service, name, kind)
        );
        CREATE TABLE IF NOT EXISTS periscope.log_services (
            day int NOT NULL,
            service text NOT NULL,
            PRIMARY KEY (day, service)
        );
        CREATE TABLE IF NOT EXISTS periscope.batch_deltas (
            id bigserial PRIMARY KEY,
            day int NOT NULL,
            deltas bytea,
            spans bigint NOT NULL DEFAULT 0,
            traces bigint NOT NULL DEFAULT 0,
            logs bigint NOT NULL DEFAULT 0,
            metric_points bigint NOT NULL DEFAULT 0,
            ingested_batches bigint NOT NULL DEFAULT 0,
            folded_operation_spans bigint NOT NULL DEFAULT 0
        );
        ALTER TABLE periscope.batch_deltas ALTER COLUMN deltas SET STORAGE EXTERNAL;
        CREATE TABLE IF NOT EXISTS periscope.counts (
            day int PRIMARY KEY,
            spans bigint NOT NULL DEFAULT 0,
            traces bigint NOT NULL DEFAULT 0,
            logs bigint NOT NULL DEFAULT 0,
            metric_points bigint NOT NULL DEFAULT 0,
            ingested_batches bigint NOT NULL DEFAULT 0,
            folded_operation_spans bigint NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS periscope.request_rollups (
            day int NOT NULL,
            resolution int NOT NULL,
            bucket bigint NOT NULL,
            aggregates bytea NOT NULL,
            PRIMARY KEY (day, resolution, bucket)
        );
        CREATE TABLE IF NOT EXISTS periscope.slo_rollups (
            day int NOT NULL,
            resolution int NOT NULL,
            bucket bigint NOT NULL,
            counts bytea NOT NULL,
            PRIMARY KEY (day, resolution, bucket)
        );
        CREATE TABLE IF NOT EXISTS periscope.alert_events (
            id bigserial PRIMARY KEY,
            slo text NOT NULL,
            severity text NOT NULL,
            firing boolean NOT NULL,
            at_ns bigint NOT NULL
        );
        CREATE INDEX IF NOT EXISTS alert_events_by_slo ON periscope.alert_events (slo, severity, id);
        CREATE TABLE IF NOT EXISTS periscope.slo_evaluations (
            objectives bigint PRIMARY KEY,
            evaluated_at timestamptz NOT NULL
        );
        CREATE TABLE IF NOT EXISTS periscope.counter_baselines (
            series bytea PRIMARY KEY,
            value double precision,
            time_ns bigint NOT NULL DEFAULT 0,
            seen_ns bigint NOT NULL
        );
        \(collectorsTable);
        CREATE TABLE IF NOT EXISTS periscope.rollup_names (
            day int NOT NULL,
            id int NOT NULL,
            name text NOT NULL,
            PRIMARY KEY (day, id)
        );
        """

    /// Each collector's retention (see `statements`), created at every start when missing.
    static let collectorsTable = """
        CREATE TABLE IF NOT EXISTS periscope.collectors (
            id text PRIMARY KEY,
            retention_ns bigint NOT NULL,
            seen_ns bigint NOT NULL
        )
        """

    /// The columns of each table `statements` makes, read from its `CREATE TABLE` and
    /// `ADD COLUMN` statements: what a collector checks is there at start.
    static let columns: [String: Set<String>] = {
        var columns: [String: Set<String>] = [:]
        let constraints: Set<String> = ["primary", "unique", "constraint", "check", "foreign", "exclude"]
        for statement in statements.split(separator: ";") {
            let words = statement.split(whereSeparator: \.isWhitespace)
            if words.starts(with: ["CREATE", "TABLE", "IF", "NOT", "EXISTS"]), words.count > 5, let open = statement.firstIndex(of: "(") {
                let table = String(words[5].drop { $0 != "." }.dropFirst().prefix { $0 != "(" })
                var depth = 0
                var part = ""
                var parts: [String] = []
                for character in statement[statement.index(after: open)...] {
                    if character == "(" { depth += 1 }
                    if character == ")" {
                        if depth == 0 { break }
                        depth -= 1
                    }
                    if character == ",", depth == 0 {
                        parts.append(part)
                        part = ""
                    } else {
                        part.append(character)
                    }
                }
                parts.append(part)
                for part in parts {
                    guard let name = part.split(whereSeparator: \.isWhitespace).first, !constraints.contains(name.lowercased()) else { continue }
                    columns[table, default: []].insert(String(name))
                }
            } else if words.count > 9, words.starts(with: ["ALTER", "TABLE"]), words[3...].starts(with: ["ADD", "COLUMN", "IF", "NOT", "EXISTS"]) {
                columns[String(words[2].drop { $0 != "." }.dropFirst()), default: []].insert(String(words[8]))
            }
        }
        return columns
    }()

    /// The sequences `statements` makes.
    static let sequences: Set<String> = Set(statements.split(separator: ";").compactMap { statement in
        let words = statement.split(whereSeparator: \.isWhitespace)
        guard words.starts(with: ["CREATE", "SEQUENCE", "IF", "NOT", "EXISTS"]), words.count > 5 else { return nil }
        return String(words[5].drop { $0 != "." }.dropFirst())
    })

    /// The counters `counts()` reports, as columns of `batch_deltas` and `counts`.
    static let counters = ["spans", "traces", "logs", "metric_points", "ingested_batches", "folded_operation_spans"]

    /// The child table of `table` for `day`.
    static func child(_ table: String, _ day: PartitionDay) -> String { "periscope.\(table)_d\(day.index)" }
}
