/// The rollup tables of a partition, part of its schema (`Schema`): one row per (resolution,
/// bucket) holding every service's and operation's aggregates (`RequestBucket`) or every SLO's
/// counts (`SLOBucket`), the numbers request buckets give names (`RollupNames`), the last span
/// block merged, and the journal of metric batches' ratio-SLO increments (see `RollupWriter`).
enum RollupTables {
    static let statements = """
        DROP TABLE IF EXISTS rollups;
        DROP TABLE IF EXISTS slo_counts;
        CREATE TABLE IF NOT EXISTS request_rollups (
            resolution INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            aggregates BLOB NOT NULL,
            PRIMARY KEY (resolution, bucket)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS slo_rollups (
            resolution INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            counts BLOB NOT NULL,
            PRIMARY KEY (resolution, bucket)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS rollup_names (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE
        );
        CREATE TABLE IF NOT EXISTS rollup_progress (
            id INTEGER PRIMARY KEY CHECK (id = 0),
            span_block INTEGER NOT NULL
        );
        INSERT OR IGNORE INTO rollup_progress (id, span_block) VALUES (0, 0);
        CREATE TABLE IF NOT EXISTS rollup_journal (
            id INTEGER PRIMARY KEY,
            deltas BLOB NOT NULL
        );
        """
}
