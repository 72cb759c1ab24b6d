import Foundation
import PeriscopeModel
import Synchronization

/// What happened to an ingested batch.
enum IngestOutcome: Equatable, Sendable {
    case stored(items: Int)
    /// The batch ID was stored before: nothing was written again.
    case duplicate
}

/// The collector's embedded store: one SQLite database per UTC day under `directory`, so
/// retention drops whole files and a query opens only the days its time range covers.
/// A batch is split by day; each day's part is written in one transaction together with
/// the batch ID, so a crash leaves each part all there or not at all and a re-sent batch
/// is never stored twice.
final class TelemetryStore: Sendable {
    let directory: String
    let indexedAttributes: Set<String>
    let objectives: [ServiceLevelObjective]
    let maxOperationsPerService: Int
    let durability: StoreDurability
    private let counterBaselines = CounterBaselines()
    private let partitions = Mutex<[PartitionDay: Partition]>([:])

    /// Attributes indexed for search unless configured otherwise.
    static let defaultIndexedAttributes: Set<String> = [
        "http.route", "http.request.method", "http.response.status_code", "http.method", "http.status_code",
        "correlation_id", "request_id", "rpc.method", "messaging.destination.name",
    ]

    init(
        directory: String, indexedAttributes: Set<String> = TelemetryStore.defaultIndexedAttributes,
        objectives: [ServiceLevelObjective] = [], maxOperationsPerService: Int = OperationLimit.defaultMaxPerService,
        durability: StoreDurability = .full
    ) throws {
        self.maxOperationsPerService = maxOperationsPerService
        self.durability = durability
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        self.indexedAttributes = indexedAttributes
        self.objectives = objectives
        var opened = [PartitionDay: Partition]()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".db") {
            if let day = PartitionDay(name: String(name.dropLast(3))) {
                opened[day] = try Partition(day: day, directory: directory, maxOperationsPerService: maxOperationsPerService, durability: durability)
            }
        }
        partitions.withLock { $0 = opened }
    }

    /// Days with data, oldest first.
    var days: [PartitionDay] { partitions.withLock { $0.keys.sorted() } }

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
    func ingest(_ batch: TelemetryBatch, batchID: String?, nowUnixNano: UInt64 = WallClock.nowUnixNano()) throws -> IngestOutcome {
        let parts = BatchSplit.byDay(batch)
        var stored = 0
        var duplicateParts = 0
        for (day, part) in parts.sorted(by: { $0.key < $1.key }) {
            let partition = try partition(day)
            let wrote = try partition.writer.withLock { database in
                let transaction: (Bool, RollupDeltas?)
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
                            counterBaselines: counterBaselines)
                        if batchID != nil { try writer.count("ingested_batches", 1) }
                        switch part {
                        case .traces(let groups): return (true, try writer.insert(groups))
                        case .logs(let groups): try writer.insert(groups)
                        case .metrics(let groups): try writer.insert(groups)
                        }
                        return (true, nil)
                    }
                } catch {
                    // What the rolled-back writes added to the large traces' span IDs is not stored.
                    partition.largeTraces.removeAll()
                    throw error
                }
                let (wrote, spanDeltas) = transaction
                // Committed: kept for the next flush, in commit order (the writer lock is held).
                if let spanDeltas { partition.spanDeltas.withLock { $0.add(spanDeltas) } }
                return wrote
            }
            if wrote {
                stored += part.itemCount
                if case .logs = part {} else { partition.rollupsPending.store(true, ordering: .releasing) }
            } else {
                duplicateParts += 1
            }
        }
        if duplicateParts > 0 && duplicateParts == parts.count { return .duplicate }
        return .stored(items: stored)
    }

    // MARK: - Rollups

    /// Merges what was stored in `partitions` (all by default) since their last flush into their
    /// rollup rows (see `RollupWriter`).
    /// With `waitingForFlushesInProgress`, every partition's writer lock is taken even when nothing
    /// is pending, so a flush another thread has begun (it cleared the flag) has committed when
    /// this returns: a question answered right after never misses it.
    func flushRollups(_ partitions: [Partition]? = nil, waitingForFlushesInProgress: Bool = false) throws {
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

    // MARK: - Retention

    /// Deletes every partition whose whole day is older than `cutoffUnixNano`; returns the days dropped.
    @discardableResult
    func dropPartitions(olderThan cutoffUnixNano: UInt64) -> [PartitionDay] {
        let dropped: [Partition] = partitions.withLock { partitions in
            let old = partitions.values.filter { $0.day.endUnixNano < cutoffUnixNano }
            for partition in old { partitions[partition.day] = nil }
            return old
        }
        for partition in dropped {
            // Wait for any statement in flight on this partition, then delete its files.
            partition.writer.withLock { _ in partition.reader.withLock { _ in Partition.removeFiles(partition.path) } }
        }
        return dropped.map(\.day).sorted()
    }
}

/// Splits a batch into per-day parts, keeping resource and scope grouping.
enum BatchSplit {
    static func byDay(_ batch: TelemetryBatch) -> [PartitionDay: TelemetryBatch] {
        if let day = singleDay(batch) { return [day: batch] }
        switch batch {
        case .traces(let groups):
            return split(groups, items: { $0.scopes }, rebuild: { ResourceSpans(resource: $0.resource, scopes: $1) }) { scope in
                Dictionary(grouping: scope.spans) { PartitionDay(unixNano: $0.startTimeUnixNano) }
                    .mapValues { ScopeSpans(scope: scope.scope, spans: $0) }
            }.mapValues { TelemetryBatch.traces($0) }
        case .logs(let groups):
            return split(groups, items: { $0.scopes }, rebuild: { ResourceLogs(resource: $0.resource, scopes: $1) }) { scope in
                Dictionary(grouping: scope.records) { PartitionDay(unixNano: $0.effectiveTimeUnixNano) }
                    .mapValues { ScopeLogs(scope: scope.scope, records: $0) }
            }.mapValues { TelemetryBatch.logs($0) }
        case .metrics(let groups):
            return split(groups, items: { $0.scopes }, rebuild: { ResourceMetrics(resource: $0.resource, scopes: $1) }) { scope in
                var byDay = [PartitionDay: [Metric]]()
                for metric in scope.metrics {
                    for (day, data) in splitMetric(metric.data) {
                        var part = metric
                        part.data = data
                        byDay[day, default: []].append(part)
                    }
                }
                return byDay.mapValues { ScopeMetrics(scope: scope.scope, metrics: $0) }
            }.mapValues { TelemetryBatch.metrics($0) }
        }
    }

    /// The day of every item when they share one (the usual batch), so it needs no copying.
    private static func singleDay(_ batch: TelemetryBatch) -> PartitionDay? {
        var day: PartitionDay?
        func same(_ unixNano: UInt64) -> Bool {
            let itemDay = PartitionDay(unixNano: unixNano)
            if day == nil { day = itemDay }
            return day == itemDay
        }
        switch batch {
        case .traces(let groups):
            for group in groups { for scope in group.scopes { for span in scope.spans where !same(span.startTimeUnixNano) { return nil } } }
        case .logs(let groups):
            for group in groups { for scope in group.scopes { for record in scope.records where !same(record.effectiveTimeUnixNano) { return nil } } }
        case .metrics:
            return nil
        }
        return day
    }

    private static func split<Group, Scope>(
        _ groups: [Group], items: (Group) -> [Scope], rebuild: (Group, [Scope]) -> Group,
        byDay: (Scope) -> [PartitionDay: Scope]
    ) -> [PartitionDay: [Group]] {
        var out = [PartitionDay: [Group]]()
        for group in groups {
            var scopesByDay = [PartitionDay: [Scope]]()
            for scope in items(group) {
                for (day, part) in byDay(scope) { scopesByDay[day, default: []].append(part) }
            }
            for (day, scopes) in scopesByDay { out[day, default: []].append(rebuild(group, scopes)) }
        }
        return out
    }

    private static func splitMetric(_ data: Metric.Data) -> [PartitionDay: Metric.Data] {
        switch data {
        case .gauge(let points):
            return Dictionary(grouping: points) { PartitionDay(unixNano: $0.timeUnixNano) }.mapValues { .gauge($0) }
        case .sum(let points, let temporality, let monotonic):
            return Dictionary(grouping: points) { PartitionDay(unixNano: $0.timeUnixNano) }
                .mapValues { .sum($0, temporality: temporality, isMonotonic: monotonic) }
        case .histogram(let points, let temporality):
            return Dictionary(grouping: points) { PartitionDay(unixNano: $0.timeUnixNano) }
                .mapValues { .histogram($0, temporality: temporality) }
        }
    }
}
