import Foundation
import Logging
import NIOCore
import PeriscopeModel
import PeriscopeServer
import PostgresNIO
import Synchronization

/// The collector's store on a shared PostgreSQL database (`--store postgres://…`): any number
/// of collectors write and read the same tables and keep nothing another one needs.
///
/// A batch is stored in one transaction together with its batch ID (`ON CONFLICT DO NOTHING`
/// on `ingested_batches`), so a batch re-sent to any collector is stored once; a concurrent
/// second claim waits for the first to commit or roll back. Writers only append rows; rollups
/// and counts are compacted from `batch_deltas` by one collector at a time under a
/// transaction-scoped advisory lock, so writers never wait on each other's rollup rows and
/// never deadlock on them. Layout and reasons: `PostgresSchema`.
final class PostgresStore: TelemetryStore {
    let location: PostgresLocation
    let indexedAttributes: Set<String>
    let objectives: [ServiceLevelObjective]
    let maxOperationsPerService: Int
    let sessions: PostgresSessions
    /// Connections to a hot standby that answers the trace, log, service and metric queries (`reading`).
    let replica: PostgresSessions?
    /// Reads falling back from the replica to the primary are logged at most once a minute.
    private let fallbackLog = LogThrottle()
    /// Whether reads go to the replica (`reading`).
    private let replicaHealth = Mutex(ReplicaHealth.up)
    /// How long reads skip a replica found down before one probe asks it again.
    private let replicaRetryAfter: Duration

    private enum ReplicaHealth {
        case up
        /// Found down: reads go to the primary; once `until` passes, one probe asks it again.
        case down(until: ContinuousClock.Instant)
        /// A probe is asking it; reads go to the primary meanwhile.
        case probing
    }
    /// Shared by every collector on the database.
    let alerts: any AlertLog
    private let logger: Logger
    /// Decoded span blocks (their IDs are unique across days).
    let blocks = SpanBlockCache()
    /// The request rollups' names of the days read so far.
    let rollupNames = PostgresRollupNames()
    /// Days whose partitions exist, as far as this collector knows.
    private let knownDays = Mutex<Set<PartitionDay>>([])
    /// A cumulative counter series started at or after this and without a baseline row counts
    /// its first point whole (`CounterBaseline.advance`): this collector's start, then each
    /// retention cutoff (retention deletes the rows of series silent since before it).
    private let countersTrustedSince = Mutex<UInt64>(WallClock.nowUnixNano())
    /// The retention the last run kept (its own or a longer one another collector recorded).
    private let keptLonger = Mutex<UInt64>(0)
    /// Each day's operation limit, loaded from `operations` when first needed.
    private let operationLimits = Mutex<[PartitionDay: OperationLimit]>([:])

    /// Batch deltas one compaction transaction consumes at most (bounded memory).
    static let compactionChunk = 500

    init(
        location: PostgresLocation, replica: PostgresLocation? = nil, indexedAttributes: Set<String> = SQLiteStore.defaultIndexedAttributes,
        objectives: [ServiceLevelObjective] = [], maxOperationsPerService: Int = OperationLimit.defaultMaxPerService,
        connections: Int = 8, replicaAnswerTimeout: Duration = .seconds(30), replicaRetryAfter: Duration = .seconds(15),
        logger: Logger = Logger(label: "periscope.store.postgres")
    ) throws {
        self.location = location
        self.replicaRetryAfter = replicaRetryAfter
        self.indexedAttributes = indexedAttributes
        self.objectives = objectives
        self.maxOperationsPerService = maxOperationsPerService
        self.logger = logger
        sessions = try PostgresSessions(location: location, size: connections, logger: logger)
        self.replica = try replica.map { try PostgresSessions(location: $0, size: connections, answerTimeout: replicaAnswerTimeout, logger: logger) }
        alerts = PostgresAlertLog(sessions: sessions)
        let days = try sessions.withSession { session in
            try session.transaction {
                let encoding = try session.query("SHOW server_encoding", "reading the database encoding").first?.decode(String.self) ?? "?"
                guard encoding == "UTF8" else { throw PostgresStoreError.encoding(encoding) }
                try session.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.Lock.namespace), \(PostgresSchema.Lock.migration.rawValue))", "taking the migration lock")
                let exists = try session.query("SELECT to_regclass('periscope.schema_version') IS NOT NULL", "reading the schema version")
                    .first?.decode(Bool.self) ?? false
                let found = exists
                    ? try session.query("SELECT version FROM periscope.schema_version", "reading the schema version").first?.decode(Int.self)
                    : nil
                if let found, found > PostgresSchema.version {
                    throw PostgresStoreError.schemaMismatch(found: found, expected: PostgresSchema.version)
                }
                // The tables are created (or the missing ones added) once: a collector starting
                // beside others on an up-to-date database takes no table locks.
                if (found ?? 0) < PostgresSchema.version {
                    if let found {
                        logger.notice("upgrading the PostgreSQL store's tables from schema \(found) to \(PostgresSchema.version); other collectors should be stopped until this one has started")
                    }
                    try makeTables(session)
                    try session.query("DELETE FROM periscope.schema_version", "stamping the schema version")
                    try session.query("INSERT INTO periscope.schema_version (version) VALUES (\(PostgresSchema.version))", "stamping the schema version")
                }
                // Added within schema 3: a database stamped 3 by an earlier collector may lack it.
                try session.execute(PostgresSchema.collectorsTable, "creating the collectors' retention table")
                try checkTables(session)
                return try session.query("SELECT day FROM periscope.days", "listing the days").map { PartitionDay(index: try $0.decode(Int.self)) }
            }
        }
        knownDays.withLock { $0 = Set(days) }
    }

    /// Asks for lz4 on `PostgresSchema.lz4Columns`; a server built without it keeps pglz (the
    /// savepoint undoes the failed statement, not the upgrade around it).
    private func preferLZ4(_ session: PostgresSession) throws {
        try session.execute("SAVEPOINT lz4", "preparing to ask for lz4")
        do {
            for (table, column) in PostgresSchema.lz4Columns {
                try session.execute("ALTER TABLE periscope.\(table) ALTER COLUMN \(column) SET COMPRESSION lz4", "asking for lz4")
            }
            try session.execute("RELEASE SAVEPOINT lz4", "asking for lz4")
        } catch {
            guard error.sqlState == "0A000" else { throw error }
            try session.execute("ROLLBACK TO SAVEPOINT lz4", "keeping pglz")
            logger.notice("this PostgreSQL server has no lz4; rollup rows stay compressed with pglz", metadata: ["error": "\(error)"])
        }
    }

    convenience init(url: String, indexedAttributes: Set<String>, objectives: [ServiceLevelObjective], maxOperationsPerService: Int) throws {
        try self.init(
            location: PostgresLocation(url: url), indexedAttributes: indexedAttributes, objectives: objectives,
            maxOperationsPerService: maxOperationsPerService)
    }

    /// Runs a read-only query on the replica when there is one, else on the primary. A replica
    /// that cannot answer (`isReplicaUnavailable`) is passed over for the primary: an answer a
    /// few milliseconds stale is fine for these queries, a failed one is not. A replica found
    /// down (unreachable, or silent past its answer timeout) costs that one read: later reads go
    /// to the primary without waiting on it, and a probe on a thread of its own asks it again
    /// every `replicaRetryAfter` until it answers.
    func reading<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        guard let replica, replicaReadable(replica) else { return try sessions.withSession(body) }
        do {
            return try replica.withSession(admitted: { self.replicaHealth.withLock { if case .up = $0 { true } else { false } } }, body)
        } catch let error as PostgresStoreError where error.isReplicaUnavailable {
            // Only a replica taken as up is put down here: a probe's verdict is its own.
            if error.isReplicaDown {
                replicaHealth.withLock { health in
                    if case .up = health { health = .down(until: .now + replicaRetryAfter) }
                }
            }
            if let held = fallbackLog.admit() {
                logger.warning("the store replica cannot answer; reading from the primary meanwhile (a replica found down is asked again every \(replicaRetryAfter), apart from reads)", metadata: [
                    "replica": "\(replica.location)", "error": "\(error)", "fallbacks_not_logged": "\(held)",
                ])
            }
            return try sessions.withSession(body)
        }
    }

    /// Whether reads go to the replica now; starts the probe when one is due.
    private func replicaReadable(_ replica: PostgresSessions) -> Bool {
        let now = ContinuousClock.now
        let probe = replicaHealth.withLock { health -> Bool? in
            switch health {
            case .up: return nil
            case .probing: return false
            case .down(let until):
                guard now >= until else { return false }
                health = .probing
                return true
            }
        }
        guard let probe else { return true }
        if probe {
            Thread { [self] in
                let answered = replica.probe()
                replicaHealth.withLock { $0 = answered ? .up : .down(until: .now + replicaRetryAfter) }
                if answered { logger.notice("the store replica answers again; reads go to it", metadata: ["replica": "\(replica.location)"]) }
            }.start()
        }
        return false
    }

    // MARK: - Days

    func storedDays() throws -> [PartitionDay] { try days() }

    /// Days with data, oldest first.
    func days() throws -> [PartitionDay] {
        try sessions.withSession { try days($0) }
    }

    func days(_ session: PostgresSession) throws -> [PartitionDay] {
        try session.query("SELECT day FROM periscope.days ORDER BY day", "listing the days").map { PartitionDay(index: try $0.decode(Int.self)) }
    }

    /// The days of `start...end` that have data, oldest first.
    func days(from start: UInt64, to end: UInt64, _ session: PostgresSession) throws -> [PartitionDay] {
        let first = PartitionDay(unixNano: start), last = PartitionDay(unixNano: end)
        return try days(session).filter { $0 >= first && $0 <= last }
    }

    /// Creates the partitions of the days not known to exist (under an advisory lock, so
    /// collectors creating the same day at once do not collide). A partition is created on its
    /// own and then attached, which locks its parent only against other schema changes, not
    /// against ingest or queries.
    private func ensureDays(_ wanted: some Sequence<PartitionDay>) throws {
        let missing = knownDays.withLock { known in Set(wanted).filter { !known.contains($0) }.sorted() }
        guard !missing.isEmpty else { return }
        try sessions.withSession { session in
            try session.transaction {
                try session.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.Lock.namespace), \(PostgresSchema.Lock.days.rawValue))", "taking the partition lock")
                for day in missing {
                    let exists = try session.query("SELECT count(*) FROM periscope.days WHERE day = \(day.index)", "reading the days").first?.decode(Int.self) ?? 0
                    guard exists == 0 else { continue }
                    for table in PostgresSchema.partitioned {
                        try session.execute("DROP TABLE IF EXISTS \(PostgresSchema.child(table, day))", "clearing a half-made partition of \(day)")
                        try createPartition(of: table, for: day, session)
                    }
                    try session.query("INSERT INTO periscope.days (day) VALUES (\(day.index))", "recording day \(day)")
                }
            }
        }
        knownDays.withLock { $0.formUnion(missing) }
    }

    /// Creates `table`'s partition for `day` on its own and attaches it.
    private func createPartition(of table: String, for day: PartitionDay, _ session: PostgresSession) throws {
        let child = PostgresSchema.child(table, day)
        try session.execute(
            "CREATE TABLE \(child) (LIKE periscope.\(table) INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)",
            "creating the \(table) partition of \(day)")
        try session.execute(
            "ALTER TABLE \(child) ADD CONSTRAINT \(table)_d\(day.index)_day CHECK (day = \(day.index))",
            "constraining the \(table) partition of \(day)")
        try attachPartition(of: table, for: day, session)
    }

    /// Attaches `table`'s partition for `day` (its CHECK constraint spares the scan).
    private func attachPartition(of table: String, for day: PartitionDay, _ session: PostgresSession) throws {
        try session.execute(
            "ALTER TABLE periscope.\(table) ATTACH PARTITION \(PostgresSchema.child(table, day)) FOR VALUES IN (\(day.index))",
            "attaching the \(table) partition of \(day)")
    }

    /// Runs `PostgresSchema.statements` (each idempotent), without time limits: rebuilding an
    /// index over weeks of partitions may take longer than a statement is otherwise allowed; it
    /// fails as a whole or not at all.
    private func makeTables(_ session: PostgresSession) throws {
        try session.execute("SET LOCAL statement_timeout = 0", "lifting the statement timeout for the tables")
        try session.execute("SET LOCAL lock_timeout = 0", "lifting the lock timeout for the tables")
        for statement in PostgresSchema.statements.split(separator: ";") where !statement.allSatisfy(\.isWhitespace) {
            try session.execute(String(statement), "creating the tables")
        }
        try preferLZ4(session)
    }

    /// At start, under the migration lock: every table, column and sequence this collector uses
    /// must be there (a collector started on tables dropped by hand answered every write and
    /// query with an error for ever). What the schema statements make again — a table, an added
    /// column — is made again, empty, with a warning; a dropped sequence is not (numbering afresh
    /// would collide with the IDs stored), nor a column only a table's creation makes: then the
    /// collector refuses to start, naming what is missing. A day partition dropped by hand (its
    /// data deliberately deleted) is made again, empty, so the day can be written; one detached
    /// by hand is attached again.
    private func checkTables(_ session: PostgresSession) throws {
        var missing = try missingTables(session)
        if !missing.isEmpty {
            guard !missing.contains(where: { $0.hasPrefix("sequence ") }) else { throw PostgresStoreError.damagedTables(missing: missing) }
            logger.warning("the PostgreSQL store's tables were damaged by hand; making what is missing again, empty", metadata: [
                "missing": "\(missing.joined(separator: ", "))",
            ])
            // Turn-taking state only; some development builds made it with another key column.
            if missing.contains("column periscope.slo_evaluations.objectives") {
                try session.execute("DROP TABLE periscope.slo_evaluations", "making the SLO evaluation turns again")
            }
            try makeTables(session)
            missing = try missingTables(session)
            guard missing.isEmpty else { throw PostgresStoreError.damagedTables(missing: missing) }
        }

        // Under the partition lock, days first: a day listed then has all its partitions made
        // (`ensureDays` records it last, under that lock), and retention takes a day off the list
        // under that lock before it detaches and drops its partitions, so none of its is made again here.
        try session.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.Lock.namespace), \(PostgresSchema.Lock.days.rawValue))", "taking the partition lock")
        let listed = try days(session)
        let attached = Set(try session.query("""
            SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'periscope'
            """, "reading the day partitions").map { try $0.decode(String.self) })
        let repairs = listed.flatMap { day in PostgresSchema.partitioned.filter { !attached.contains("\($0)_d\(day.index)") }.map { (day, $0) } }
        if !repairs.isEmpty { try session.execute("SET LOCAL statement_timeout = 0", "lifting the statement timeout for the repair") }
        for (day, table) in repairs {
            let child = PostgresSchema.child(table, day)
            let exists = try session.query("SELECT to_regclass('\(unescaped: child)') IS NOT NULL", "looking for \(child)").first?.decode(Bool.self) ?? false
            if exists {
                logger.warning("\(child) was detached by hand; attaching it again")
                try attachPartition(of: table, for: day, session)
            } else {
                logger.warning("\(child) was dropped by hand; making it again, empty, so \(day) can be written (what it held is gone)")
                try createPartition(of: table, for: day, session)
            }
        }
    }

    /// The tables, columns and sequences of `PostgresSchema` the database lacks, named for people.
    private func missingTables(_ session: PostgresSession) throws -> [String] {
        var found: [String: Set<String>] = [:]
        let columns = try session.query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = 'periscope'",
            "reading the tables")
        for row in columns {
            let (table, column) = try row.decode((String, String).self)
            found[table, default: []].insert(column)
        }
        let sequences = Set(try session.query(
            "SELECT sequence_name::text FROM information_schema.sequences WHERE sequence_schema = 'periscope'", "reading the sequences"
        ).map { try $0.decode(String.self) })
        var missing: [String] = []
        for (table, expected) in PostgresSchema.columns.sorted(by: { $0.key < $1.key }) {
            guard let have = found[table] else {
                missing.append("table periscope.\(table)")
                continue
            }
            missing += expected.subtracting(have).sorted().map { "column periscope.\(table).\($0)" }
        }
        return missing + PostgresSchema.sequences.subtracting(sequences).sorted().map { "sequence periscope.\($0)" }
    }

    func operationLimit(_ day: PartitionDay, _ session: PostgresSession) throws -> OperationLimit {
        if let limit = operationLimits.withLock({ $0[day] }) { return limit }
        let known = try session.query("SELECT service, name FROM periscope.operations WHERE day = \(day.index)", "reading the operations")
            .map { row in try row.decode((String, String).self) }
        let limit = OperationLimit(maxPerService: maxOperationsPerService, day: day.description, known: known.map { ($0.0, $0.1) })
        return operationLimits.withLock { limits in
            if let existing = limits[day] { return existing }
            limits[day] = limit
            return limit
        }
    }

    /// Before this collector admits a new operation name for a service below its cap, it reads
    /// the names other collectors listed for that service since, so the cap holds for all of
    /// them together (collectors admitting names at the same moment may each pass it by their batch's new names).
    private func learnOperations(of groups: [ResourceSpans], day: PartitionDay, into limit: OperationLimit, _ session: PostgresSession) throws {
        var services = Set<String>()
        for group in groups where !services.contains(group.resource.serviceName) {
            if limit.wouldAdmitNew(service: group.resource.serviceName, operations: group.scopes.lazy.flatMap(\.spans).map(\.name)) {
                services.insert(group.resource.serviceName)
            }
        }
        guard !services.isEmpty else { return }
        let listed = try session.query("""
            SELECT service, name FROM periscope.operations WHERE day = \(day.index) AND service = ANY(\(services.map(PostgresText.key)))
            """, "reading the operations").map { row in try row.decode((String, String).self) }
        limit.learn(listed.map { ($0.0, $0.1) })
    }

    // MARK: - Ingest

    /// SQLSTATEs after which the whole transaction is tried again at once: a deadlock, a
    /// serialization failure, a lock not granted in time, a partition missing for a row.
    static let retriedStates: Set<String> = ["40P01", "40001", "55P03", "23514"]

    func ingest(_ batch: TelemetryBatch, batchID: String?, nowUnixNano: UInt64) throws -> IngestOutcome {
        let parts = BatchSplit.byDay(batch).sorted { $0.key < $1.key }
        var attempt = 1
        while true {
            try ensureDays(parts.map(\.key))
            do {
                return try write(parts, batchID: batchID, nowUnixNano: nowUnixNano)
            } catch let error as PostgresStoreError where attempt < 3 && error.sqlState.map(Self.retriedStates.contains) == true {
                // 23514: a day's partition was dropped by retention on another collector since this one saw it.
                if error.sqlState == "23514" { knownDays.withLock { $0.subtract(parts.map(\.key)) } }
                attempt += 1
            }
        }
    }

    private func write(
        _ parts: [(key: PartitionDay, value: TelemetryBatch)], batchID: String?, nowUnixNano: UInt64
    ) throws -> IngestOutcome {
        try sessions.withSession { session in
            try session.transaction {
                if let batchID {
                    let claim = try session.query("""
                        INSERT INTO periscope.ingested_batches (batch_id, received_ns) VALUES (\(PostgresText.clean(batchID)), \(Int64(clamping: nowUnixNano)))
                        ON CONFLICT DO NOTHING
                        """, "claiming the batch ID")
                    if claim.metadata.rows == 0 { return .duplicate }
                }
                var stored = 0
                for (index, (day, part)) in parts.enumerated() {
                    var counts = PostgresBatchCounts()
                    counts.ingestedBatches = batchID != nil && index == 0 ? 1 : 0
                    var deltas: RollupDeltas?
                    switch part {
                    case .traces(let groups):
                        let operations = try operationLimit(day, session)
                        try learnOperations(of: groups, day: day, into: operations, session)
                        let written = try PostgresSpanWriter(
                            session: session, day: day, indexedAttributes: indexedAttributes, blocks: blocks, operations: operations
                        ).insert(groups)
                        let spanDeltas = RollupDeltas(spans: written.stored, objectives: objectives, operations: operations)
                        counts.spans = written.stored.spans.count
                        counts.traces = written.newTraces
                        counts.foldedOperationSpans = spanDeltas.foldedRequests
                        deltas = spanDeltas
                    case .logs(let groups):
                        counts.logs = try PostgresRowWriter(session: session, day: day).insert(groups)
                    case .metrics(let groups):
                        deltas = try RollupDeltas.ratioSLOs(groups, objectives: objectives) { readings in
                            try PostgresCounterBaselines(session: session).increases(
                                readings, nowUnixNano: nowUnixNano, trustedSinceUnixNano: countersTrustedSince.withLock { $0 })
                        }
                        counts.metricPoints = try PostgresRowWriter(session: session, day: day).insert(groups)
                    }
                    try counts.record(day: day, deltas: deltas.flatMap { $0.isEmpty ? nil : $0.encoded }, in: session)
                    stored += part.itemCount
                }
                return .stored(items: stored)
            }
        }
    }

    // MARK: - Rollups

    /// Every 10 s: each compaction rewrites the current minute, hour and day rollup rows whole
    /// (and their TOAST), so compacting every second multiplied the server's WAL and CPU for
    /// rows nobody had asked about yet; signals and SLO questions compact before they read.
    var backgroundFlushInterval: Duration { .seconds(10) }

    /// The background flush: compacts unless another collector is compacting right now (which
    /// compacts the same rows; waiting for it would only hold a connection).
    func flushRollups() throws { try compact(waiting: false) }

    /// Compacts the batch deltas committed when it is called (not those that keep arriving
    /// meanwhile, so it ends under any load) into the rollup and count rows, one chunk per
    /// transaction, under the compaction lock: with several collectors one compacts at a time.
    /// `waiting` (before a question): one that asks while another compacts waits for it and
    /// then compacts what is left, so the answer never misses a committed batch.
    func compact(waiting: Bool) throws {
        try sessions.withSession { session in
            let last = try session.query("SELECT coalesce(max(id), 0) FROM periscope.batch_deltas", "reading the batch deltas")
                .first?.decode(Int64.self) ?? 0
            // Nothing to compact (the usual case for a question): no transaction, no lock.
            guard last > 0 else { return }
            var compacted = 0
            while let chunk = try compactChunk(upTo: last, waiting: waiting, session) {
                compacted += chunk
                if chunk < Self.compactionChunk { break }
            }
            if compacted > 0 {
                analyzeGrownDays(session)
                // The compacted delta rows and the rollup rows' previous versions are dead:
                // vacuumed now, their pages are reused (and trailing ones returned) instead of
                // the tables growing until autovacuum's turn. A table in use is skipped.
                if !waiting {
                    try? session.execute(
                        "VACUUM (SKIP_LOCKED) periscope.batch_deltas, periscope.request_rollups, periscope.slo_rollups",
                        "vacuuming the compacted tables")
                }
            }
        }
    }

    /// A day's rows analyzed first (from this many), and again each time they grow by `analyzeGrowth`.
    static let analyzeFirstRows = 1_000
    static let analyzeGrowth = 4

    /// Refreshes the planner's statistics of a day's partitions once its rows have grown
    /// `analyzeGrowth`-fold since they were last analyzed. A day's partitions start empty, and
    /// until autovacuum's first pass (a minute or more) the planner guesses that a trace ID
    /// matches 0.5 % of the rows, and scans the whole day instead of the index, for every
    /// batch. One collector claims each round (`days.analyzed_rows`); a failure is left to the next.
    private func analyzeGrownDays(_ session: PostgresSession) {
        do {
            let grown = try session.query("""
                SELECT c.day, c.traces + c.logs + c.metric_points, d.analyzed_rows FROM periscope.counts AS c
                JOIN periscope.days AS d ON d.day = c.day
                WHERE c.traces + c.logs + c.metric_points >= greatest(\(Int64(Self.analyzeFirstRows)), d.analyzed_rows * \(Int64(Self.analyzeGrowth)))
                """, "finding grown days").map { row in try row.decode((Int, Int64, Int64).self) }
            for (index, rows, analyzed) in grown {
                let claimed = try session.query("""
                    UPDATE periscope.days SET analyzed_rows = \(rows) WHERE day = \(index) AND analyzed_rows = \(analyzed)
                    """, "claiming a day's analysis").metadata.rows == 1
                guard claimed else { continue }
                let day = PartitionDay(index: index)
                try session.execute(
                    "ANALYZE " + PostgresSchema.partitioned.map { PostgresSchema.child($0, day) }.joined(separator: ", "),
                    "analyzing the partitions of \(day)")
            }
        } catch {
            logger.debug("analyzing grown days failed; the next compaction tries again", metadata: ["error": "\(error)"])
        }
    }

    /// Compacts at most `compactionChunk` batch deltas with IDs up to `last`; returns how many.
    /// Without `waiting`, nil when another collector holds the compaction lock.
    private func compactChunk(upTo last: Int64, waiting: Bool, _ session: PostgresSession) throws -> Int? {
        try session.transaction { () throws -> Int? in
            if waiting {
                try session.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.Lock.namespace), \(PostgresSchema.Lock.compaction.rawValue))", "taking the compaction lock")
            } else {
                let locked = try session.query(
                    "SELECT pg_try_advisory_xact_lock(\(PostgresSchema.Lock.namespace), \(PostgresSchema.Lock.compaction.rawValue))",
                    "taking the compaction lock").first?.decode(Bool.self) ?? false
                guard locked else { return nil }
            }
            let rows = try session.query("""
                DELETE FROM periscope.batch_deltas
                WHERE id IN (SELECT id FROM periscope.batch_deltas WHERE id <= \(last) ORDER BY id LIMIT \(Self.compactionChunk))
                RETURNING day, deltas, spans, traces, logs, metric_points, ingested_batches, folded_operation_spans
                """, "taking the batch deltas")
            var perDay = [PartitionDay: (aggregation: RollupAggregation, counts: PostgresBatchCounts)]()
            for row in rows {
                let (day, deltas, spans, traces, logs, points, batches, folded) =
                    try row.decode((Int, ByteBuffer?, Int, Int, Int, Int, Int, Int).self)
                var entry = perDay[PartitionDay(index: day)] ?? (RollupAggregation(), PostgresBatchCounts())
                // A damaged entry (it never is, unless the database is) must not block the others.
                if let deltas, let decoded = try? RollupDeltas(encoded: Array(deltas.readableBytesView)) { entry.aggregation.add(decoded) }
                entry.counts.add(PostgresBatchCounts(
                    spans: spans, traces: traces, logs: logs, metricPoints: points, ingestedBatches: batches, foldedOperationSpans: folded))
                perDay[PartitionDay(index: day)] = entry
            }
            for (day, entry) in perDay.sorted(by: { $0.key < $1.key }) {
                var aggregation = entry.aggregation
                try PostgresRollupWriter(session: session, day: day).write(&aggregation)
                try entry.counts.add(toTotalsOf: day, in: session)
            }
            return rows.count
        }
    }

    var storedTimeRange: ClosedRange<UInt64>? {
        guard let days = try? days(), let first = days.first, let last = days.last else { return nil }
        return first.startUnixNano...last.endUnixNano
    }

    /// The buckets of every day in range, in one statement (and the names added to those days
    /// since the last read in a second, after it, so every number the buckets use is there): a
    /// 30-day question is two round trips, not two per day.
    func rollupBuckets(_ table: RollupTable, resolution: Resolution, buckets: ClosedRange<Int64>) throws -> [StoredRollupBuckets] {
        let (name, column) = switch table {
        case .requests: ("request_rollups", "aggregates")
        case .slo: ("slo_rollups", "counts")
        }
        try compact(waiting: true)
        func nanos(_ seconds: Int64) -> UInt64 {
            let (value, overflow) = UInt64(clamping: seconds).multipliedReportingOverflow(by: 1_000_000_000)
            return overflow ? .max : value
        }
        let first = PartitionDay(unixNano: nanos(buckets.lowerBound))
        let upper = nanos(buckets.upperBound).addingReportingOverflow(resolution.nanos - 1)
        let last = PartitionDay(unixNano: upper.overflow ? .max : upper.partialValue)
        guard first <= last else { return [] }
        // One index search per day (a range of days would walk every bucket of each); a range
        // wider than a year (never asked by signals or SLOs) as a range.
        let days = last.index - first.index <= 366
            ? "day = ANY('{\((first.index...last.index).map(String.init).joined(separator: ","))}'::int[])"
            : "day BETWEEN \(first.index) AND \(last.index)"
        return try sessions.withSession { session in
            var byDay = [PartitionDay: StoredRollupBuckets]()
            let rows = try session.query("""
                SELECT day, bucket, \(unescaped: column) FROM periscope.\(unescaped: name)
                WHERE \(unescaped: days) AND resolution = \(resolution.rawValue)
                  AND bucket BETWEEN \(buckets.lowerBound) AND \(buckets.upperBound)
                ORDER BY day
                """, "reading rollups")
            for row in rows {
                let (index, bucket, bytes) = try row.decode((Int, Int64, ByteBuffer).self)
                let day = PartitionDay(index: index)
                var stored = byDay.removeValue(forKey: day) ?? StoredRollupBuckets(shard: day, names: RollupNames(), buckets: [], bytes: [])
                stored.buckets.append((bucket, stored.bytes.count..<(stored.bytes.count + bytes.readableBytes)))
                stored.bytes.append(contentsOf: bytes.readableBytesView)
                byDay[day] = stored
            }
            if table == .requests, !byDay.isEmpty {
                for (day, names) in try rollupNames.read(days: byDay.keys.sorted(), in: session) {
                    byDay[day]?.names = names
                }
            }
            return byDay.values.sorted { $0.shard < $1.shard }
        }
    }

    func newestGaugePoints(names: [String], from start: UInt64, to end: UInt64) throws -> [GaugePoint] {
        guard !names.isEmpty else { return [] }
        return try sessions.withSession { session in
            try session.query("""
                SELECT DISTINCT ON (name, service) name, service, time_ns, value FROM periscope.metric_points
                WHERE name = ANY(\(names.map(PostgresText.key))) AND time_ns BETWEEN \(Int64(clamping: start)) AND \(Int64(clamping: end))
                ORDER BY name, service, time_ns DESC, id DESC
                """, "reading gauges").map { row in
                let (name, service, time, value) = try row.decode((String, String, Int64, Double?).self)
                return GaugePoint(gauge: name, service: service, timeUnixNano: UInt64(clamping: time), value: value ?? 0)
            }
        }
    }

    // MARK: - Retention

    /// Drops every day whose whole day is older than `cutoffUnixNano`, and the batch IDs received
    /// before it; returns the days dropped. Any collector may run it; one at a time does (the
    /// others skip while it runs). A day leaves the day list first (one short transaction), then
    /// each of its partitions is detached concurrently (never blocking ingest or queries on the
    /// parent) and dropped; a partition left behind by an interrupted run is found in the catalog
    /// and dropped by the next.
    ///
    /// Collectors on one database may be started with different retentions: each records its own
    /// (`periscope.collectors`, refreshed at every run), and the cutoff is the one of the longest
    /// recorded by a collector seen in the last day, so no collector drops what another was
    /// started to keep (and acknowledged).
    @discardableResult
    func dropData(olderThan requestedCutoffUnixNano: UInt64) -> [PartitionDay] {
        do {
            let cutoffUnixNano = try sessions.withSession { session in sharedCutoff(requestedCutoffUnixNano, session) }
            // Whichever collector drops them, this one's names of those days are not needed again.
            rollupNames.forget(before: PartitionDay(unixNano: cutoffUnixNano))
            countersTrustedSince.withLock { $0 = max($0, cutoffUnixNano) }
            let dropped = try sessions.withSession { session -> [PartitionDay] in
                let locked = try session.query(
                    "SELECT pg_try_advisory_lock(\(PostgresSchema.Lock.namespace), \(PostgresSchema.Lock.retention.rawValue))",
                    "taking the retention lock").first?.decode(Bool.self) ?? false
                guard locked else { return [] }
                defer { session.releaseAdvisoryLock(PostgresSchema.Lock.retention) }
                let old = try session.transaction {
                    try session.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.Lock.namespace), \(PostgresSchema.Lock.days.rawValue))", "taking the partition lock")
                    let old = try days(session).filter { $0.endUnixNano < cutoffUnixNano }
                    for day in old {
                        for table in ["operations", "log_services", "batch_deltas", "counts", "request_rollups", "slo_rollups", "rollup_names", "days"] {
                            try session.query("DELETE FROM periscope.\(unescaped: table) WHERE day = \(day.index)", "deleting the \(table) of \(day)")
                        }
                    }
                    return old
                }
                try dropPartitions(olderThan: cutoffUnixNano, session)
                // Baselines of counter series silent for the whole retention: their next point starts afresh.
                while try session.query("""
                    DELETE FROM periscope.counter_baselines WHERE series IN (
                        SELECT series FROM periscope.counter_baselines WHERE seen_ns < \(Int64(clamping: cutoffUnixNano)) LIMIT 10000)
                    """, "deleting old counter baselines").metadata.rows ?? 0 > 0 {}
                // Batch IDs in chunks, so no transaction holds many rows.
                while try session.query("""
                    DELETE FROM periscope.ingested_batches WHERE batch_id IN (
                        SELECT batch_id FROM periscope.ingested_batches WHERE received_ns < \(Int64(clamping: cutoffUnixNano)) LIMIT 10000)
                    """, "deleting old batch IDs").metadata.rows ?? 0 > 0 {}
                return old
            }
            knownDays.withLock { $0.subtract(dropped) }
            operationLimits.withLock { limits in for day in dropped { limits[day] = nil } }
            return dropped
        } catch {
            logger.error("retention: dropping days older than the cutoff failed; the next run tries again", metadata: ["error": "\(error)"])
            return []
        }
    }

    /// This store's row in `periscope.collectors` (one per collector process).
    private let collectorID = String(UInt64.random(in: 1...UInt64.max), radix: 16)

    /// Records this collector's retention (`now − requested`, in whole seconds) and answers the
    /// cutoff of the longest retention recorded by a collector seen in the last day (rows unseen
    /// for a week are deleted). A collector keeping a minute or more less than another logs it,
    /// once per change. If the table cannot be read or written, the requested cutoff stands.
    private func sharedCutoff(_ requested: UInt64, _ session: PostgresSession) -> UInt64 {
        let now = WallClock.nowUnixNano()
        let second: UInt64 = 1_000_000_000
        let day: UInt64 = 86_400 * second
        let retention = (now > requested ? now - requested : 0) / second * second
        do {
            try session.query("""
                INSERT INTO periscope.collectors (id, retention_ns, seen_ns) VALUES (\(collectorID), \(Int64(clamping: retention)), \(Int64(clamping: now)))
                ON CONFLICT (id) DO UPDATE SET retention_ns = EXCLUDED.retention_ns, seen_ns = EXCLUDED.seen_ns
                """, "recording this collector's retention")
            try session.query("DELETE FROM periscope.collectors WHERE seen_ns < \(Int64(clamping: now > 7 * day ? now - 7 * day : 0))", "forgetting collectors gone a week")
            let longest = try session.query("""
                SELECT max(retention_ns) FROM periscope.collectors WHERE seen_ns >= \(Int64(clamping: now > day ? now - day : 0))
                """, "reading the collectors' retentions").first?.decode(Int64?.self).map { UInt64(clamping: $0) } ?? retention
            let kept = longest >= retention + 60 * second ? longest : retention
            let changed = keptLonger.withLock { previous in
                defer { previous = kept }
                return previous != kept
            }
            if kept > retention, changed {
                logger.notice("""
                    retention: another collector on this database keeps data for \(kept / 3600 / second) h, longer than this one's \
                    \(retention / 3600 / second) h; days are dropped only past the longest (give every collector the same --retention to keep less)
                    """)
            }
            return now > kept ? now - kept : 0
        } catch {
            logger.warning("retention: cannot read or record the collectors' retentions; using this collector's own", metadata: ["error": "\(error)"])
            return requested
        }
    }

    /// Detaches (concurrently, or finishing a detach an interrupted run began) and drops every
    /// day partition whose day is older than the cutoff, attached or not.
    private func dropPartitions(olderThan cutoffUnixNano: UInt64, _ session: PostgresSession) throws {
        let rows = try session.query("""
            SELECT c.relname, p.relname, i.inhdetachpending FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
            LEFT JOIN pg_class p ON p.oid = i.inhparent
            WHERE n.nspname = 'periscope' AND c.relkind = 'r' AND c.relname ~ '_d[0-9]+$'
            """, "listing day partitions")
        for row in rows {
            let (name, parent, pending) = try row.decode((String, String?, Bool?).self)
            guard let suffix = name.split(separator: "_").last, suffix.hasPrefix("d"), let index = Int(suffix.dropFirst()),
                  let table = PostgresSchema.partitioned.first(where: { name == "\($0)_d\(index)" }),
                  PartitionDay(index: index).endUnixNano < cutoffUnixNano else { continue }
            let child = PostgresSchema.child(table, PartitionDay(index: index))
            if let parent {
                let how = pending == true ? "FINALIZE" : "CONCURRENTLY"
                try session.execute("ALTER TABLE periscope.\(parent) DETACH PARTITION \(child) \(how)", "detaching \(name)")
            }
            try session.execute("DROP TABLE IF EXISTS \(child)", "dropping \(name)")
        }
    }
}
