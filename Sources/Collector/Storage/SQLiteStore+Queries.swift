import PeriscopeModel
import PeriscopeOTLP
import PeriscopeQueryAPI

/// A trace search (DESIGN §1 step 4): every filter optional, all of them ANDed.
struct TraceQuery: Equatable, Sendable {
    var service: String?
    var operation: String?
    var kind: Span.Kind?
    /// `key=value` pairs that must all hold on one span.
    var attributes: [Attribute] = []
    var status: Span.Status.Code?
    var minSpanDurationNanos: UInt64?
    var maxSpanDurationNanos: UInt64?
    var minTraceDurationNanos: UInt64?
    var maxTraceDurationNanos: UInt64?
    var startUnixNano: UInt64 = 0
    var endUnixNano: UInt64 = .max
    var limit = 20
    /// Most work the search does before it answers with what it found (`TraceSearch`).
    var workBudget = maxSearchWork

    /// Most `key=value` filters one search takes: each is checked on every span verified, so
    /// thousands in one URL would make one search cost minutes.
    static let maxAttributes = 32

    /// Drops repeated `key=value` filters and refuses more than `maxAttributes`.
    mutating func checkAttributeCount() throws(QueryParameters.Invalid) {
        var seen = Set<Attribute>()
        attributes = attributes.filter { seen.insert($0).inserted }
        guard attributes.count <= Self.maxAttributes else {
            throw QueryParameters.Invalid(message: "at most \(Self.maxAttributes) attribute filters in one search, got \(attributes.count)")
        }
    }
}

/// A log search: every filter optional, ANDed.
struct LogQuery: Equatable, Sendable {
    var traceID: TraceID?
    var correlationID: String?
    var service: String?
    /// The least severity number to include (9 for INFO and above, …).
    var minSeverity: Int?
    /// Text the body must contain (case-sensitive).
    var contains: String?
    var startUnixNano: UInt64 = 0
    var endUnixNano: UInt64 = .max
    var limit = 1000
    /// Newest first (then the caller usually reverses) instead of oldest first.
    var newestFirst = false
    /// Records the search decodes (a block counts its records, at least
    /// `LogBlockSearch.leastBlockCost`) before it answers with the part of the range it
    /// searched whole (`QueryAPI.Logs.truncated`), and as many again for blocks spanning the
    /// range's edge (`LogReadBudget`): a text search over a month of records would otherwise
    /// hold a query thread for minutes.
    var readBudget = maxLogRecordsRead
}

/// `LogQuery.readBudget`'s default: 1.5 s of decoding short records on one core here (BENCHMARKS.md).
let maxLogRecordsRead = 10_000_000

/// Points of one metric, oldest first.
struct MetricQuery: Equatable, Sendable {
    var name: String
    var service: String?
    var startUnixNano: UInt64 = 0
    var endUnixNano: UInt64 = .max
    var limit = 1000
    /// Most points the SQLite store looks at (a metric's points are indexed by name and time,
    /// not by service) before it answers those before the next one (`QueryAPI.MetricPoints.truncated`).
    var readBudget = 5_000_000
}

/// Most work one trace search does before it answers with what it found (`PartitionTraceSearch.work`:
/// candidates verified, block indexes read, traces summarised; the span index answers most
/// searches after a few dozen).
let maxSearchWork = 50_000

extension SQLiteStore {
    /// A trace's first `limit` spans by start time, and how many it has, across partitions;
    /// `nil` if the store has none.
    func trace(_ traceID: TraceID, limit: Int) throws -> QueryAPI.Trace? {
        var gathering = TraceGathering(traceID, limit: limit)
        for partition in allPartitions {
            _ = try partition.reader.withLock { database in
                try SQLitePartitionBlocks(partition: partition, database: database).forEachSpan(of: traceID) { gathering.add($0, $1) }
            }
        }
        return gathering.trace
    }

    /// The summary of one trace, merged over the days it spans.
    func summary(_ traceID: TraceID) throws -> QueryAPI.TraceSummary? {
        var merged: TraceSummaryParts?
        for partition in allPartitions {
            try partition.reader.withLock { database in
                guard let parts = try SQLitePartitionBlocks(partition: partition, database: database).summaryParts(of: traceID) else { return }
                if merged == nil { merged = parts } else { merged!.merge(parts) }
            }
        }
        return merged?.summary(traceID)
    }

    /// Traces with a span matching every span filter and a summary matching the trace filters,
    /// newest first (by the latest matching span's start).
    func searchTraces(_ query: TraceQuery) throws -> QueryAPI.TraceList {
        try TraceSearch.run(
            query, indexedAttributes: indexedAttributes,
            daysNewestFirst: Array(partitions(from: query.startUnixNano, to: query.endUnixNano).reversed()),
            page: { search, partition, wanted in
                try partition.reader.withLock { try search.next(wanted, in: SQLitePartitionBlocks(partition: partition, database: $0)) }
            },
            summaries: { traceIDs in
                var out = [TraceID: QueryAPI.TraceSummary]()
                for traceID in traceIDs { out[traceID] = try summary(traceID) }
                return out
            })
    }

    /// Traces whose ID starts with `prefix` (hex digits), at most `limit`, for short IDs typed by hand.
    func traces(withIDPrefix prefix: String, limit: Int) throws -> [QueryAPI.TraceSummary] {
        let digits = Array(prefix.lowercased())
        let low = TraceID(hex: String(digits) + String(repeating: "0", count: 32 - digits.count))
        let high = TraceID(hex: String(digits) + String(repeating: "f", count: 32 - digits.count))
        guard let low, let high else { return [] }
        var ids = Set<TraceID>()
        for partition in allPartitions where ids.count < limit {
            try partition.reader.withLock { database in
                let statement = try database.statement("SELECT trace_id FROM trace_index WHERE trace_id BETWEEN ? AND ? LIMIT ?")
                    .bind(1, blob: low.bytes).bind(2, blob: high.bytes).bind(3, limit)
                while try statement.step() {
                    if let id = TraceID(bytes: statement.blob(0)) { ids.insert(id) }
                }
            }
        }
        return try ids.sorted().prefix(limit).compactMap { try summary($0) }
    }

    /// Log records matching every filter, oldest first (or newest first), day by day within
    /// one read budget.
    func logs(_ query: LogQuery) throws -> QueryAPI.Logs {
        var logs = [QueryAPI.Log]()
        var partitions = partitions(from: query.startUnixNano, to: query.endUnixNano)
        if query.newestFirst { partitions.reverse() }
        var budget = LogReadBudget(query.readBudget)
        for partition in partitions where logs.count < query.limit {
            let search = LogBlockSearch(query: query, limit: query.limit - logs.count)
            let part = try partition.reader.withLock { try search.run(in: $0, budget: &budget) }
            logs += part.logs
            if let resume = part.resumeUnixNano { return QueryAPI.Logs(logs: logs, truncated: true, resumeUnixNano: resume) }
        }
        return QueryAPI.Logs(logs: logs)
    }

    /// Every service with spans or logs, with its span operations.
    /// Every service, with at most `limit` of its operations (by name) and how many it has.
    func services(limit: Int) throws -> [QueryAPI.Service] {
        var operations = [String: Set<QueryAPI.Operation>]()
        for partition in allPartitions {
            try partition.reader.withLock { database in
                let statement = try database.statement("SELECT service, name, kind FROM operations")
                while try statement.step() {
                    let kind = (Span.Kind(rawValue: statement.int(2)) ?? .unspecified).name
                    operations[statement.string(0), default: []].insert(QueryAPI.Operation(name: statement.string(1), kind: kind))
                }
                let logServices = try database.statement("SELECT service FROM log_services")
                while try logServices.step() { operations[logServices.string(0), default: []].formUnion([]) }
            }
        }
        return operations.keys.sorted().map { name in
            let all = operations[name, default: []]
            let listed = all.sorted { ($0.name, $0.kind) < ($1.name, $1.kind) }.prefix(limit)
            return QueryAPI.Service(name: name, operations: Array(listed), operationCount: all.count)
        }
    }

    /// Caller → callee edges: a span whose parent (in the same day) belongs to another service
    /// is one call; counted from the blocks whose spans start in the range, newest first.
    func dependencies(from start: UInt64, to end: UInt64, budget: CallCountBudget) throws -> QueryAPI.Dependencies {
        var calls = ServiceCalls(budget: budget)
        for partition in partitions(from: start, to: end).reversed() {
            try partition.reader.withLock { database in
                try SQLitePartitionBlocks(partition: partition, database: database).countCalls(from: start, to: end, into: &calls)
            }
        }
        return calls.dependencies
    }

    /// Points of one metric (optionally of one service) in a time range, oldest first, day by
    /// day. The service is checked row by row along the metric's (name, time) index, each row
    /// counted from `query.readBudget`: past it, the points before the next row's time are the answer.
    func metricPoints(_ query: MetricQuery) throws -> QueryAPI.MetricPoints {
        var points = [QueryAPI.MetricPoint]()
        var budget = query.readBudget
        let (start, end) = (min(query.startUnixNano, UInt64(Int64.max)), min(query.endUnixNano, UInt64(Int64.max)))
        for partition in partitions(from: query.startUnixNano, to: query.endUnixNano) where points.count < query.limit {
            let resume = try partition.reader.withLock { database -> UInt64? in
                let statement = try database.statement("""
                    SELECT service, kind, time_ns, value, attributes FROM metric_points
                    WHERE name = ? AND time_ns BETWEEN ? AND ? ORDER BY time_ns, id
                    """).bind(1, query.name).bind(2, start).bind(3, end)
                defer { statement.reset() }
                while points.count < query.limit, try statement.step() {
                    let time = statement.uint64(2)
                    // Points at the range's own start are read on, up to a second budget, so that
                    // a resumed search moves on.
                    if budget <= 0, time > start || budget <= -query.readBudget {
                        // Every point before this time was looked at; some at it may not have been.
                        while points.last?.timeUnixNano == time { points.removeLast() }
                        return time
                    }
                    budget -= 1
                    let service = statement.string(0)
                    if let wanted = query.service, service != wanted { continue }
                    points.append(QueryAPI.MetricPoint(
                        name: query.name, service: service, kind: statement.string(1), timeUnixNano: time, value: statement.double(3),
                        attributes: CompactEncoding.decodeAttributes(statement.blob(4)).dictionary))
                }
                return nil
            }
            if let resume { return QueryAPI.MetricPoints(points: points, truncated: true, resumeUnixNano: resume) }
        }
        return QueryAPI.MetricPoints(points: points)
    }

    /// Row counts summed over partitions, for tests and `/api/v1/status`: counters kept with
    /// every batch, so the answer costs a few reads however much is stored.
    func counts() throws -> [String: Int] {
        var out = ["spans": 0, "logs": 0, "metric_points": 0, "ingested_batches": 0, "traces": 0, "partitions": 0]
        for partition in allPartitions {
            out["partitions", default: 0] += 1
            try partition.reader.withLock { database in
                let statement = try database.statement("SELECT name, value FROM counters")
                while try statement.step() { out[statement.string(0), default: 0] += statement.int(1) }
            }
        }
        return out
    }
}

extension Span.Status.Code {
    var name: String {
        switch self {
        case .unset: return "unset"
        case .ok: return "ok"
        case .error: return "error"
        }
    }
}
