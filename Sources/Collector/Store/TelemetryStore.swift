import PeriscopeModel
import PeriscopeQueryAPI

/// The collector's store as ingest, rollups, SLO evaluation, retention and the query routes
/// see it. `SQLiteStore` is the embedded implementation; another backend implements the same
/// requirements and everything above it works unchanged.
///
/// Every requirement may block (disk, database): callers run them off the cooperative pool.
protocol TelemetryStore: RollupSource {
    /// The SLOs whose counts the store keeps in its rollups.
    var objectives: [ServiceLevelObjective] { get }

    /// Where SLO alert changes are recorded, and whose turn it is to evaluate SLOs.
    var alerts: any AlertLog { get }

    /// Stores a batch exactly once: with a `batchID` seen before, stores nothing and says so.
    func ingest(_ batch: TelemetryBatch, batchID: String?, nowUnixNano: UInt64) throws -> IngestOutcome

    /// Merges everything ingested since the last flush into the rollups.
    func flushRollups() throws

    /// How often the collector flushes rollups in the background (questions flush first anyway).
    var backgroundFlushInterval: Duration { get }

    /// Deletes every day older than `cutoffUnixNano`; returns the days deleted.
    @discardableResult
    func dropData(olderThan cutoffUnixNano: UInt64) -> [PartitionDay]

    /// The days with data, oldest first.
    func storedDays() throws -> [PartitionDay]

    /// A whole trace, at most `limit` spans; `nil` when no span of it is stored.
    func trace(_ traceID: TraceID, limit: Int) throws -> QueryAPI.Trace?
    /// One trace's summary over every day it spans; `nil` when no span of it is stored.
    func summary(_ traceID: TraceID) throws -> QueryAPI.TraceSummary?
    /// Traces matching a search, newest first, within the search's work budget.
    func searchTraces(_ query: TraceQuery) throws -> QueryAPI.TraceList
    /// Traces whose ID starts with `prefix` (hex).
    func traces(withIDPrefix prefix: String, limit: Int) throws -> [QueryAPI.TraceSummary]
    /// Log records matching a query, within its read budget (`LogQuery.readBudget`).
    func logs(_ query: LogQuery) throws -> QueryAPI.Logs
    /// Services seen, busiest first.
    func services(limit: Int) throws -> [QueryAPI.Service]
    /// Calls between services in a time range, its newest spans first, within `budget`.
    func dependencies(from start: UInt64, to end: UInt64, budget: CallCountBudget) throws -> QueryAPI.Dependencies
    /// Stored points of one metric, oldest first.
    func metricPoints(_ query: MetricQuery) throws -> QueryAPI.MetricPoints
    /// Row counts by kind, for `/api/v1/stats`.
    func counts() throws -> [String: Int]
}

extension TelemetryStore {
    var backgroundFlushInterval: Duration { .seconds(1) }

    func ingest(_ batch: TelemetryBatch, batchID: String?) throws -> IngestOutcome {
        try ingest(batch, batchID: batchID, nowUnixNano: WallClock.nowUnixNano())
    }

    func trace(_ traceID: TraceID) throws -> QueryAPI.Trace? { try trace(traceID, limit: 50_000) }

    func services() throws -> [QueryAPI.Service] { try services(limit: 1_000) }
}
