import Logging
import NIOCore
import PeriscopeModel
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
    private let logger: Logger
    /// Decoded span blocks (their IDs are unique across days).
    let blocks = SpanBlockCache()
    private let counterBaselines = CounterBaselines()
    /// Days whose partitions exist, as far as this collector knows.
    private let knownDays = Mutex<Set<PartitionDay>>([])
    /// Each day's operation limit, loaded from `operations` when first needed.
    private let operationLimits = Mutex<[PartitionDay: OperationLimit]>([:])

    /// Batch deltas one compaction transaction consumes at most (bounded memory).
    static let compactionChunk = 2_000

    init(
        location: PostgresLocation, indexedAttributes: Set<String> = SQLiteStore.defaultIndexedAttributes,
        objectives: [ServiceLevelObjective] = [], maxOperationsPerService: Int = OperationLimit.defaultMaxPerService,
        connections: Int = 8, logger: Logger = Logger(label: "periscope.store.postgres")
    ) throws {
        self.location = location
        self.indexedAttributes = indexedAttributes
        self.objectives = objectives
        self.maxOperationsPerService = maxOperationsPerService
        self.logger = logger
        sessions = try PostgresSessions(location: location, size: connections, logger: logger)
        let days = try sessions.withSession { session in
            try session.transaction {
                try session.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.Lock.namespace), \(PostgresSchema.Lock.migration.rawValue))", "taking the migration lock")
                let exists = try session.query("SELECT to_regclass('periscope.schema_version') IS NOT NULL", "reading the schema version")
                    .first?.decode(Bool.self) ?? false
                if exists, let found = try session.query("SELECT version FROM periscope.schema_version", "reading the schema version").first?.decode(Int.self),
                   found != PostgresSchema.version {
                    throw PostgresStoreError.schemaMismatch(found: found, expected: PostgresSchema.version)
                }
                for statement in PostgresSchema.statements.split(separator: ";") where !statement.allSatisfy(\.isWhitespace) {
                    try session.execute(String(statement), "creating the tables")
                }
                if try session.query("SELECT count(*) FROM periscope.schema_version", "reading the schema version").first?.decode(Int.self) == 0 {
                    try session.query("INSERT INTO periscope.schema_version (version) VALUES (\(PostgresSchema.version))", "stamping the schema version")
                }
                return try session.query("SELECT day FROM periscope.days", "listing the days").map { PartitionDay(index: try $0.decode(Int.self)) }
            }
        }
        knownDays.withLock { $0 = Set(days) }
    }

    convenience init(url: String, indexedAttributes: Set<String>, objectives: [ServiceLevelObjective], maxOperationsPerService: Int) throws {
        try self.init(
            location: PostgresLocation(url: url), indexedAttributes: indexedAttributes, objectives: objectives,
            maxOperationsPerService: maxOperationsPerService)
    }

    // MARK: - Days

    func storedDays() throws -> [PartitionDay] { try days() }

    /// Days with data, oldest first.
    func days() throws -> [PartitionDay] {
        try sessions.withSession { session in
            try session.query("SELECT day FROM periscope.days ORDER BY day", "listing the days").map { PartitionDay(index: try $0.decode(Int.self)) }
        }
    }

    /// The days of `start...end` that have data, oldest first.
    func days(from start: UInt64, to end: UInt64) throws -> [PartitionDay] {
        let first = PartitionDay(unixNano: start), last = PartitionDay(unixNano: end)
        return try days().filter { $0 >= first && $0 <= last }
    }

    /// Creates the partitions of the days not known to exist (under an advisory lock, so
    /// collectors creating the same day at once do not collide).
    private func ensureDays(_ wanted: some Sequence<PartitionDay>) throws {
        let missing = knownDays.withLock { known in wanted.filter { !known.contains($0) } }
        guard !missing.isEmpty else { return }
        try sessions.withSession { session in
            try session.transaction {
                try session.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.Lock.namespace), \(PostgresSchema.Lock.days.rawValue))", "taking the partition lock")
                for day in missing {
                    let exists = try session.query("SELECT count(*) FROM periscope.days WHERE day = \(day.index)", "reading the days").first?.decode(Int.self) ?? 0
                    guard exists == 0 else { continue }
                    for table in PostgresSchema.partitioned {
                        try session.execute(
                            "CREATE TABLE \(PostgresSchema.child(table, day)) PARTITION OF periscope.\(table) FOR VALUES IN (\(day.index))",
                            "creating the \(table) partition of \(day)")
                    }
                    try session.query("INSERT INTO periscope.days (day) VALUES (\(day.index))", "recording day \(day)")
                }
            }
        }
        knownDays.withLock { $0.formUnion(missing) }
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

    // MARK: - Ingest

    func ingest(_ batch: TelemetryBatch, batchID: String?, nowUnixNano: UInt64) throws -> IngestOutcome {
        let parts = BatchSplit.byDay(batch).sorted { $0.key < $1.key }
        try ensureDays(parts.map(\.key))
        do {
            return try write(parts, batchID: batchID, nowUnixNano: nowUnixNano)
        } catch let error as PostgresStoreError where error.sqlState == "23514" {
            // A day's partition was dropped by retention on another collector since this one saw it.
            knownDays.withLock { $0.subtract(parts.map(\.key)) }
            try ensureDays(parts.map(\.key))
            return try write(parts, batchID: batchID, nowUnixNano: nowUnixNano)
        }
    }

    private func write(_ parts: [(key: PartitionDay, value: TelemetryBatch)], batchID: String?, nowUnixNano: UInt64) throws -> IngestOutcome {
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
                        deltas = RollupDeltas.ratioSLOs(groups, objectives: objectives, counterBaselines: counterBaselines)
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

    /// Compacts every batch's deltas into the rollup and count rows, one chunk per transaction,
    /// under the compaction lock: with several collectors one compacts at a time, and one that
    /// asks while another compacts waits for it and then compacts what is left (so a question
    /// answered right after never misses a committed batch).
    func flushRollups() throws {
        while try compactChunk() == Self.compactionChunk {}
    }

    /// Compacts at most `compactionChunk` batch deltas; returns how many.
    private func compactChunk() throws -> Int {
        try sessions.withSession { session in
            try session.transaction {
                try session.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.Lock.namespace), \(PostgresSchema.Lock.compaction.rawValue))", "taking the compaction lock")
                let rows = try session.query("""
                    DELETE FROM periscope.batch_deltas WHERE id IN (SELECT id FROM periscope.batch_deltas ORDER BY id LIMIT \(Self.compactionChunk))
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
    }

    var storedTimeRange: ClosedRange<UInt64>? {
        guard let days = try? days(), let first = days.first, let last = days.last else { return nil }
        return first.startUnixNano...last.endUnixNano
    }

    func rollupBuckets(_ table: RollupTable, resolution: Resolution, buckets: ClosedRange<Int64>) throws -> [StoredRollupBuckets] {
        let (name, column) = switch table {
        case .requests: ("request_rollups", "aggregates")
        case .slo: ("slo_rollups", "counts")
        }
        try flushRollups()
        let covered = try days(
            from: UInt64(clamping: buckets.lowerBound) &* 1_000_000_000,
            to: UInt64(clamping: buckets.upperBound) &* 1_000_000_000 &+ (resolution.nanos - 1))
        return try sessions.withSession { session in
            try covered.map { day in
                var stored = StoredRollupBuckets(shard: day, names: RollupNames(), buckets: [], bytes: [])
                let rows = try session.query("""
                    SELECT bucket, \(unescaped: column) FROM periscope.\(unescaped: name)
                    WHERE day = \(day.index) AND resolution = \(resolution.rawValue) AND bucket BETWEEN \(buckets.lowerBound) AND \(buckets.upperBound)
                    """, "reading rollups")
                for row in rows {
                    let (bucket, bytes) = try row.decode((Int64, ByteBuffer).self)
                    stored.buckets.append((bucket, stored.bytes.count..<(stored.bytes.count + bytes.readableBytes)))
                    stored.bytes.append(contentsOf: bytes.readableBytesView)
                }
                // After the buckets, so that every number they use is there.
                if table == .requests { stored.names = try RollupNames.read(day: day, in: session) }
                return stored
            }
        }
    }

    func newestGaugePoints(names: [String], from start: UInt64, to end: UInt64) throws -> [GaugePoint] {
        guard !names.isEmpty else { return [] }
        return try sessions.withSession { session in
            try session.query("""
                SELECT DISTINCT ON (name, service) name, service, time_ns, value FROM periscope.metric_points
                WHERE name = ANY(\(names.map(PostgresText.clean))) AND time_ns BETWEEN \(Int64(clamping: start)) AND \(Int64(clamping: end))
                ORDER BY name, service, time_ns DESC, id DESC
                """, "reading gauges").map { row in
                let (name, service, time, value) = try row.decode((String, String, Int64, Double?).self)
                return GaugePoint(gauge: name, service: service, timeUnixNano: UInt64(clamping: time), value: value ?? 0)
            }
        }
    }

    // MARK: - Retention

    /// Drops every day whose whole day is older than `cutoffUnixNano`, and the batch IDs received
    /// before it; returns the days dropped. Any collector may run it: the partition lock makes
    /// one at a time do it.
    @discardableResult
    func dropData(olderThan cutoffUnixNano: UInt64) -> [PartitionDay] {
        do {
            let dropped = try sessions.withSession { session in
                try session.transaction {
                    try session.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.Lock.namespace), \(PostgresSchema.Lock.days.rawValue))", "taking the partition lock")
                    let old = try session.query("SELECT day FROM periscope.days ORDER BY day", "listing the days")
                        .map { PartitionDay(index: try $0.decode(Int.self)) }
                        .filter { $0.endUnixNano < cutoffUnixNano }
                    for day in old {
                        for table in PostgresSchema.partitioned {
                            try session.execute("DROP TABLE IF EXISTS \(PostgresSchema.child(table, day))", "dropping the \(table) of \(day)")
                        }
                        for table in ["operations", "log_services", "batch_deltas", "counts", "request_rollups", "slo_rollups", "rollup_names", "days"] {
                            try session.query("DELETE FROM periscope.\(unescaped: table) WHERE day = \(day.index)", "deleting the \(table) of \(day)")
                        }
                    }
                    try session.query("DELETE FROM periscope.ingested_batches WHERE received_ns < \(Int64(clamping: cutoffUnixNano))", "deleting old batch IDs")
                    return old
                }
            }
            knownDays.withLock { $0.subtract(dropped) }
            operationLimits.withLock { limits in for day in dropped { limits[day] = nil } }
            return dropped
        } catch {
            logger.error("retention: dropping days older than the cutoff failed; the next run tries again", metadata: ["error": "\(error)"])
            return []
        }
    }
}
