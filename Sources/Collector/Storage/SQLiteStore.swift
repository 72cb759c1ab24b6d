import Foundation
import PeriscopeModel
import Synchronization

/// The collector's embedded store: one SQLite database per UTC day under `directory`, so
/// retention drops whole files and a query opens only the days its time range covers.
/// A batch is split by day; each day's part is written in one transaction together with
/// the batch ID, so a crash leaves each part all there or not at all and a re-sent batch
/// is never stored twice.
final class SQLiteStore: TelemetryStore {
    let directory: String
    let indexedAttributes: Set<String>
    let objectives: [ServiceLevelObjective]
    let maxOperationsPerService: Int
    let durability: StoreDurability
    /// `alerts.db` in the same directory.
    let alerts: any AlertLog
    private let counterBaselines = CounterBaselines()
    private let partitions = Mutex<[PartitionDay: Partition]>([:])
    private let movedAside = Mutex<[String]>([])

    /// Damaged day files moved aside since the store opened (at start or while storing), where they now are.
    var damagedFilesMovedAside: [String] { movedAside.withLock { $0 } }

    /// Attributes indexed for search unless configured otherwise.
    static let defaultIndexedAttributes: Set<String> = [
        "http.route", "http.request.method", "http.response.status_code", "http.method", "http.status_code",
        "correlation_id", "request_id", "rpc.method", "messaging.destination.name",
    ]

    init(
        directory: String, indexedAttributes: Set<String> = SQLiteStore.defaultIndexedAttributes,
        objectives: [ServiceLevelObjective] = [], maxOperationsPerService: Int = OperationLimit.defaultMaxPerService,
        durability: StoreDurability = .full, expiredBefore cutoffUnixNano: UInt64 = 0
    ) throws {
        self.maxOperationsPerService = maxOperationsPerService
        self.durability = durability
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        alerts = try SQLiteAlertLog(directory: directory)
        self.indexedAttributes = indexedAttributes
        self.objectives = objectives
        var opened = [PartitionDay: Partition]()
        var moved: [String] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".db") {
            guard let day = PartitionDay(name: String(name.dropLast(3))) else { continue }
            let path = Partition.path(of: day, in: directory)
            if day.endsBefore(cutoffUnixNano), Partition.isOurs(path) {
                // Retention would drop it at once: not opened, so never upgraded first.
                Partition.removeFiles(path)
                let removed = !FileManager.default.fileExists(atPath: path)
                let outcome = removed
                    ? "dropped \(path) at start, older than the retention period"
                    : "could not delete \(path), older than the retention period: opening it instead"
                FileHandle.standardError.write(Data("periscope-collector: \(outcome)\n".utf8))
                if removed { continue }
            }
            do {
                opened[day] = try Partition(day: day, directory: directory, maxOperationsPerService: maxOperationsPerService, durability: durability)
            } catch let error as SQLiteError where error.isDamage {
                // One damaged day does not keep the collector, and every other day, from starting.
                guard let target = Partition.moveAside(path) else {
                    throw PartitionOpenFailure(path: path, reason: "\(error); it could not be moved aside either: move or delete it, then start again")
                }
                Self.reportDamage(path, error, movedTo: target, when: "at start")
                moved.append(target)
            } catch let error as PartitionSchemaMismatch {
                throw error
            } catch {
                throw PartitionOpenFailure(path: path, reason: "\(error)")
            }
        }
        partitions.withLock { $0 = opened }
        movedAside.withLock { $0 = moved }
        Self.removeDamagedFiles(olderThan: cutoffUnixNano, in: directory)
    }

    /// Deletes the damaged day files moved aside (`DAY.db.damaged-…`, with their `-wal` and
    /// `-shm`) whose day is past retention, as their day's file would have been: on a failing
    /// disk they must not pile up. Only those whose header says a Periscope wrote them
    /// (`Partition.isOurs`): a file that merely had a day's name is not the collector's to delete.
    private static func removeDamagedFiles(olderThan cutoffUnixNano: UInt64, in directory: String) {
        guard cutoffUnixNano > 0 else { return }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where name.contains(".db.damaged-") && !name.hasSuffix("-wal") && !name.hasSuffix("-shm") {
            guard let day = PartitionDay(name: String(name.prefix { $0 != "." })), day.endsBefore(cutoffUnixNano) else { continue }
            let path = (directory as NSString).appendingPathComponent(name)
            guard Partition.isOurs(path) else { continue }
            Partition.removeFiles(path)
        }
    }

    /// Says on standard error which day file was found damaged and where it went.
    private static func reportDamage(_ path: String, _ error: SQLiteError, movedTo moved: String, when: String) {
        FileHandle.standardError.write(Data("""
            periscope-collector: \(when), the day file \(path) is damaged (\(error)); moved it (with its -wal and -shm) to \
            \(moved) and went on with a new, empty file for that day: what it held is not served. \
            To salvage what is readable: sqlite3 \(moved) .recover > recovered.sql

            """.utf8))
    }

    /// Moves `partition`'s damaged files aside and forgets it, so the next write to its day
    /// opens a new file — only if it is still the day's partition (another thread may have done
    /// this already). Waits for the statements in flight on it, then, with the day's entry held,
    /// closes both connections (their last close deletes the `-wal` and `-shm` by name: before the
    /// rename those are still the damaged file's) and renames the files: no one opens the damaged
    /// file as the day's in between.
    private func quarantine(_ partition: Partition, because error: SQLiteError) {
        let outcome: String?? = partition.writer.withLock { writer in
            partition.reader.withLock { reader in
                partitions.withLock { partitions -> String?? in
                    guard partitions[partition.day] === partition else { return .none }
                    partitions[partition.day] = nil
                    writer.close()
                    reader.close()
                    return .some(Partition.moveAside(partition.path))
                }
            }
        }
        guard case .some(let moved) = outcome else { return }
        if let moved {
            Self.reportDamage(partition.path, error, movedTo: moved, when: "while storing")
            movedAside.withLock { $0.append(moved) }
        } else {
            FileHandle.standardError.write(Data("""
                periscope-collector: the day file \(partition.path) is damaged (\(error)) and could not be moved aside: \
                move or delete it and restart the collector; until then writes to that day fail

                """.utf8))
        }
    }

    /// Days with data, oldest first.
    var days: [PartitionDay] { partitions.withLock { $0.keys.sorted() } }

    func storedDays() -> [PartitionDay] { days }

    private func partition(_ day: PartitionDay) throws -> Partition {
        try partitions.withLock { partitions in
            if let existing = partitions[day] { return existing }
            let created = try Partition(day: day, directory: directory, maxOperationsPerService: maxOperationsPerService, durability: durability)
            partitions[day] = created
            return created
        }
    }

    /// The partitions a time range touches, oldest first.
    func partitions(from start: UInt64, to end: UInt64) -> [Partition] {
        let first = PartitionDay(unixNano: start)
        let last = PartitionDay(unixNano: end)
        return partitions.withLock { partitions in
            partitions.filter { $0.key >= first && $0.key <= last }.sorted { $0.key < $1.key }.map(\.value)
        }
    }

    var allPartitions: [Partition] { partitions(from: 0, to: .max) }

    // MARK: - Ingest

    /// Stores a batch. With a `batchID` seen before (in every day it touches), stores nothing.
    func ingest(_ batch: TelemetryBatch, batchID: String?, nowUnixNano: UInt64) throws -> IngestOutcome {
        let parts = BatchSplit.byDay(batch)
        var stored = 0
        var duplicateParts = 0
        for (day, part) in parts.sorted(by: { $0.key < $1.key }) {
            var target = try partition(day)
            let wrote: Bool
            do {
                wrote = try write(part, to: target, batchID: batchID, nowUnixNano: nowUnixNano)
            } catch let error as SQLiteError where error.isDamage || error.isClosedConnection {
                // Retrying into the same file cannot succeed: the day goes on in a new one (which a
                // writer that waited on a file another write quarantined meanwhile just takes).
                if error.isDamage { quarantine(target, because: error) }
                target = try partition(day)
                wrote = try write(part, to: target, batchID: batchID, nowUnixNano: nowUnixNano)
            }
            if wrote {
                stored += part.itemCount
                if case .logs = part {} else { target.rollupsPending.store(true, ordering: .releasing) }
            } else {
                duplicateParts += 1
            }
        }
        if duplicateParts > 0 && duplicateParts == parts.count { return .duplicate }
        return .stored(items: stored)
    }

    /// Writes one day's part of a batch in one transaction with its batch ID; false when the
    /// batch ID was there already.
    private func write(_ part: TelemetryBatch, to partition: Partition, batchID: String?, nowUnixNano: UInt64) throws -> Bool {
        try partition.writer.withLock { database in
            let transaction: (Bool, RollupDeltas?)
            let baselineChanges = CounterBaselines.Changes()
            do {
                transaction = try database.transaction {
                    if let batchID {
                        try database.statement("INSERT OR IGNORE INTO ingested_batches (batch_id, received_ns) VALUES (?, ?)")
                            .bind(1, batchID).bind(2, nowUnixNano).run()
                        if database.changes == 0 { return (false, nil) }
                    }
                    let writer = PartitionWriter(
                        database: database, indexedAttributes: indexedAttributes, blocks: partition.blocks,
                        objectives: objectives, operations: partition.operations, largeTraces: partition.largeTraces,
                        counterBaselines: counterBaselines, baselineChanges: baselineChanges)
                    if batchID != nil { try writer.count("ingested_batches", 1) }
                    switch part {
                    case .traces(let groups): return (true, try writer.insert(groups))
                    case .logs(let groups): try writer.insert(groups)
                    case .metrics(let groups): try writer.insert(groups)
                    }
                    return (true, nil)
                }
            } catch {
                // What the rolled-back writes added to the large traces' span IDs is not stored,
                // nor what they advanced of the counters' baselines.
                partition.largeTraces.removeAll()
                counterBaselines.revert(baselineChanges)
                throw error
            }
            let (wrote, spanDeltas) = transaction
            // Committed: kept for the next flush, in commit order (the writer lock is held).
            if let spanDeltas { partition.spanDeltas.withLock { $0.add(spanDeltas) } }
            return wrote
        }
    }

    // MARK: - Rollups

    /// Merges what was stored in `partitions` (all by default) since their last flush into their
    /// rollup rows (see `RollupWriter`).
    /// With `waitingForFlushesInProgress`, every partition's writer lock is taken even when nothing
    /// is pending, so a flush another thread has begun (it cleared the flag) has committed when
    /// this returns: a question answered right after never misses it.
    func flushRollups() throws { try flushRollups(nil) }

    func flushRollups(_ partitions: [Partition]?, waitingForFlushesInProgress: Bool = false) throws {
        for partition in partitions ?? allPartitions where waitingForFlushesInProgress || partition.rollupsPending.load(ordering: .acquiring) {
            try partition.writer.withLock { database in
                guard partition.rollupsPending.exchange(false, ordering: .acquiringAndReleasing) else { return }
                do {
                    try partition.spanDeltas.withLock { pending in
                        _ = try database.transaction {
                            try RollupWriter(database: database).flush(
                                spanDeltas: pending.isComplete ? pending.deltas : nil, objectives: objectives, operations: partition.operations)
                        }
                        pending = PendingSpanDeltas(isComplete: true, limit: pending.limit)
                    }
                } catch {
                    partition.rollupsPending.store(true, ordering: .releasing)
                    throw error
                }
            }
        }
    }

    /// The partitions of a time range with their rollups up to date, for signals and SLO questions.
    func partitionsWithRollups(from start: UInt64, to end: UInt64) throws -> [Partition] {
        let covered = partitions(from: start, to: end)
        try flushRollups(covered, waitingForFlushesInProgress: true)
        return covered
    }

    // MARK: - Rollup reads

    var storedTimeRange: ClosedRange<UInt64>? {
        let days = days
        guard let first = days.first, let last = days.last else { return nil }
        return first.startUnixNano...last.endUnixNano
    }

    func rollupBuckets(_ table: RollupTable, resolution: Resolution, buckets: ClosedRange<Int64>) throws -> [StoredRollupBuckets] {
        let (name, column) = switch table {
        case .requests: ("request_rollups", "aggregates")
        case .slo: ("slo_rollups", "counts")
        }
        let covered = try partitionsWithRollups(
            from: UInt64(clamping: buckets.lowerBound) &* 1_000_000_000,
            to: UInt64(clamping: buckets.upperBound) &* 1_000_000_000 &+ (resolution.nanos - 1))
        return try covered.map { partition in
            try partition.reader.withLock { database in
                var stored = StoredRollupBuckets(shard: partition.day, names: RollupNames(), buckets: [], bytes: [])
                let statement = try database.statement("SELECT bucket, \(column) FROM \(name) WHERE resolution = ? AND bucket BETWEEN ? AND ?")
                    .bind(1, resolution.rawValue).bind(2, buckets.lowerBound).bind(3, buckets.upperBound)
                while try statement.step() {
                    let bucket = statement.int64(0)
                    statement.withBlob(1) { bytes in
                        stored.buckets.append((bucket, stored.bytes.count..<(stored.bytes.count + bytes.count)))
                        stored.bytes.append(contentsOf: bytes)
                    }
                }
                // After the buckets, so that every number they use is there.
                if table == .requests { stored.names = try partition.rollupNames(reading: database) }
                return stored
            }
        }
    }

    func newestGaugePoints(names: [String], from start: UInt64, to end: UInt64) throws -> [GaugePoint] {
        var newest = [String: [String: GaugePoint]]()  // gauge → service → newest point
        // Newest partition first: a service's first point found for a gauge is its newest.
        for partition in partitions(from: start, to: end).reversed() {
            try partition.reader.withLock { database in
                for name in names {
                    let statement = try database.statement("""
                        SELECT service, max(time_ns), value FROM metric_points WHERE name = ? AND time_ns BETWEEN ? AND ?
                        GROUP BY service
                        """).bind(1, name).bind(2, start).bind(3, end)
                    while try statement.step() {
                        let service = statement.string(0)
                        guard newest[name]?[service] == nil else { continue }
                        newest[name, default: [:]][service] = GaugePoint(gauge: name, service: service, timeUnixNano: statement.uint64(1), value: statement.double(2))
                    }
                }
            }
        }
        return newest.values.flatMap(\.values)
    }

    // MARK: - Retention

    /// Deletes every partition whose whole day is older than `cutoffUnixNano`; returns the days dropped.
    @discardableResult
    func dropData(olderThan cutoffUnixNano: UInt64) -> [PartitionDay] {
        let dropped: [Partition] = partitions.withLock { partitions in
            let old = partitions.values.filter { $0.day.endsBefore(cutoffUnixNano) }
            for partition in old { partitions[partition.day] = nil }
            return old
        }
        for partition in dropped {
            // Wait for any statement in flight on this partition, then delete its files.
            partition.writer.withLock { _ in partition.reader.withLock { _ in Partition.removeFiles(partition.path) } }
        }
        Self.removeDamagedFiles(olderThan: cutoffUnixNano, in: directory)
        return dropped.map(\.day).sorted()
    }
}

