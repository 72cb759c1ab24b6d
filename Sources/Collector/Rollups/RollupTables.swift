/// The rollup tables of a partition, part of its schema (`Schema`): the journal of what
/// batches added since the last flush, one row per (resolution, bucket) holding every
/// service's and operation's aggregates (`RequestBucket`) or every SLO's counts (`SLOBucket`),
/// and the numbers request buckets give names (`RollupNames`).
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
        CREATE TABLE IF NOT EXISTS rollup_journal (
            id INTEGER PRIMARY KEY,
            deltas BLOB NOT NULL
        );
        """
}
