import Foundation
import PeriscopeBenchKit

/// What `periscope-store-bench` measured; written as JSON with `--json-out`.
struct StoreReport: Codable, Sendable {
    /// The `taskset -c` CPU list of the collector ("" when unpinned).
    var collectorCPUs: String
    var cores: Int
    var store: Store?
    /// The same store part on the PostgreSQL store (`--postgres`), in the same run.
    var postgresStore: Store?
    /// The PostgreSQL store part again with more collectors on one database (`--postgres-collectors`).
    var postgresScaling: [Store] = []
    var signals: Signals?
    /// The signals part again on the PostgreSQL store (`--postgres`), one collector.
    var postgresSignals: Signals?
    var storeRollups: RollupComparison?

    struct Ingest: Codable, Sendable {
        var spans: Int
        var logs: Int
        /// From the first request sent until `/api/v1/status` counts everything stored.
        var seconds: Double
        /// From the first request sent until the last one was answered.
        var sendSeconds: Double
        var spansPerSecond: Double
        var collectorCPUSeconds: Double
        var spansPerCPUSecond: Double
        var collectorPeakRSSMiB: Double
        var retries: Int
        var failedRequests: Int
        var storedSpans: Int
        var storedLogs: Int
        /// The CPU and what else ran during the ingest.
        var machine: MachineReport
        /// The PostgreSQL server's CPU (postmaster and every backend) during the ingest, on that store.
        var postgresCPUSeconds: Double?
        var spansPerPostgresCPUSecond: Double?
        /// Of the samples (every 100 ms) of busy PostgreSQL client backends, the share waiting for a lock.
        var postgresLockWaitShare: Double?
        var postgresLockWaitSamples: Int?
        /// What the waiting backends waited for, with their sample counts.
        var postgresLockWaitEvents: String?
        /// Deadlocks PostgreSQL detected in the store's database during the run.
        var postgresDeadlocks: Int?
        /// The store's bytes by table after ingest.
        var postgresBreakdown: String?
    }

    struct Query: Codable, Sendable {
        var name: String
        var exampleURL: String
        var targetMs: Double
        /// Client-side wall time of the whole HTTP exchange.
        var latencyMs: Percentiles
        var errors: Int
        var meanResults: Double
        var emptyAnswers: Int
        /// Mean bytes of an answer's body (web pages).
        var meanBytes: Double?
    }

    /// The web UI's page of one large trace: its server time, and in headless Chromium
    /// (`Benchmarks/Scripts/web_ui_timing.py`) how long until it could be used.
    struct LargeTracePage: Codable, Sendable {
        var spans: Int
        var page: Query
        var browser: BrowserTiming?
        /// Why there is no browser timing (no Chromium, the script failed), if there is none.
        var browserError: String?
    }

    /// What `web_ui_timing.py` printed: Navigation Timing figures in milliseconds from the
    /// start of each navigation, their medians, and the waterfall rows drawn.
    struct BrowserTiming: Codable, Sendable {
        struct Figures: Codable, Sendable {
            var server: Double
            var interactive: Double
            var contentLoaded: Double
            var load: Double
            var forcedLayout: Double
            var ready: Double
        }

        var url: String
        var bytes: Int
        var rows: Int?
        var median: Figures
        var runs: [Figures]
    }

    struct Store: Codable, Sendable {
        var spans: Int
        var traces: Int
        var logs: Int
        var batchSpans: Int
        var inFlight: Int
        /// "ordered" (a day replayed as live traffic arrives) or "random" (start times spread over the day).
        var arrival: String
        var ingest: Ingest
        /// The data directory after ingest, SQLite `-wal`/`-shm` included (logs too: one per trace).
        var diskBytes: Int
        var databaseBytes: Int
        var diskBytesAfterQueries: Int
        var bytesPerSpan: Double
        var bytesPerSpanExcludingWAL: Double
        var queries: [String: Query]
        /// The web UI's pages over the same data (SQLite store only; none with `--skip-web`).
        var webPages: [String: Query]?
        var largeTrace: LargeTracePage?
        /// "sqlite" or "postgres" (bytes: `pg_total_relation_size` of the store's tables, indexes and TOAST).
        var backend = "sqlite"
        /// Collectors sharing the store during the ingest (batches spread over them in turn); CPU figures are their sum.
        var collectors = 1
        /// PostgreSQL: seconds after the queries until autovacuum was done (then `traceByIDSettled` ran).
        var autovacuumSettleSeconds: Double?
    }

    struct Signals: Codable, Sendable {
        var services: Int
        var operations: Int
        var days: Int
        var spans: Int
        var sloCount: Int
        /// The ingest before the queries (every span a server span).
        var ingestServer: Ingest
        /// Ingest time of these server spans over the same spans as internal (nothing rolled up).
        var rollupCost: RollupComparison?
        var queries: [String: Query]
        /// The web UI's signals and SLO pages over the same data (SQLite store only).
        var webPages: [String: Query]?
    }

    /// The store workload ingested as generated and with every span internal (nothing rolled up).
    struct RollupComparison: Codable, Sendable {
        /// One ingest of the spans as generated and one of them all internal.
        struct Round: Codable, Sendable {
            var asGenerated: Ingest
            var allInternal: Ingest
            var ingestTimeRatio: Double { asGenerated.seconds / allInternal.seconds }
            var cpuRatio: Double { asGenerated.collectorCPUSeconds / max(allInternal.collectorCPUSeconds, 1e-9) }
        }

        var spans: Int
        /// The share of spans that are requests (server spans) as generated.
        var requestShare: Double
        var rounds: [Round]
        /// The round with the median ingest time ratio.
        var asGenerated: Ingest
        var allInternal: Ingest
        /// Medians over the rounds.
        var ingestTimeRatio: Double
        var cpuRatio: Double

        init(spans: Int, requestShare: Double, rounds: [Round]) {
            self.spans = spans
            self.requestShare = requestShare
            self.rounds = rounds
            let median = rounds.sorted { $0.ingestTimeRatio < $1.ingestTimeRatio }[rounds.count / 2]
            asGenerated = median.asGenerated
            allInternal = median.allInternal
            ingestTimeRatio = median.ingestTimeRatio
            cpuRatio = rounds.map(\.cpuRatio).sorted()[rounds.count / 2]
        }

        /// A table row: the median ratio, each round's, and the verdict against 10 %.
        func row(_ what: String) -> String {
            let each = rounds.map { String(format: "%.3f", $0.ingestTimeRatio) }.joined(separator: ", ")
            return String(format: "| rollup cost (%@, %d spans; ingest time as generated ÷ all internal, median of %d rounds: %@) | %.3f (CPU %.3f) | ≤ 1.10 | %@ |",
                          what, spans, rounds.count, each, ingestTimeRatio, cpuRatio, ingestTimeRatio <= 1.10 ? "met" : "MISSED")
        }
    }

    func printTable() {
        func verdict(_ ok: Bool) -> String { ok ? "met" : "MISSED" }
        print("\n| what | measured | target | verdict |")
        print("| --- | --- | --- | --- |")
        for store in [store, postgresStore].compactMap({ $0 }) + postgresScaling {
            let ingest = store.ingest
            let on = store.backend == "postgres"
                ? "PostgreSQL store, \(store.collectors) collector\(store.collectors == 1 ? "" : "s")" : "SQLite store"
            // DESIGN §9: ≥ 250k spans per collector CPU-second on the embedded store, ≥ 100k on PostgreSQL.
            let perCPUTarget = store.backend == "postgres" ? 100_000.0 : 250_000.0
            print(String(format: "| %@: collector ingest (%d spans + %d logs, collector on %@) | %.0f spans per collector CPU-second (%.0f spans/s) | ≥ %.0fk spans per collector CPU-second | %@ |",
                         on, store.spans, store.logs, collectorCPUs.isEmpty ? "all cores" : "CPU \(collectorCPUs)",
                         ingest.spansPerCPUSecond, ingest.spansPerSecond, perCPUTarget / 1000, verdict(ingest.spansPerCPUSecond >= perCPUTarget)))
            if let perPostgres = ingest.spansPerPostgresCPUSecond, let cpu = ingest.postgresCPUSeconds {
                print(String(format: "| %@: PostgreSQL CPU | %.1f CPU-s, %.0f spans per PostgreSQL CPU-second | ≥ 150k | %@ |",
                             on, cpu, perPostgres, verdict(perPostgres >= 150_000)))
            }
            if let share = ingest.postgresLockWaitShare, let deadlocks = ingest.postgresDeadlocks {
                print(String(format: "| %@: lock waits, deadlocks during ingest | %.2f %% of %d busy-backend samples waiting for a lock; %d deadlocks | < 1 %%, 0 | %@ |",
                             on, share * 100, ingest.postgresLockWaitSamples ?? 0, deadlocks, verdict(share < 0.01 && deadlocks == 0)))
            }
            for key in ["traceByID", "traceByIDSettled", "searchServiceOperationDuration", "searchAttribute", "logsByCorrelationID"] {
                guard let query = store.queries[key] else { continue }
                print(String(format: "| %@: %@ (%d spans stored) | p50 %.2f ms, p99 %.2f ms | p99 ≤ %.0f ms | %@ |", on, query.name, store.spans,
                             query.latencyMs.p50, query.latencyMs.p99, query.targetMs,
                             verdict(query.latencyMs.p99 <= query.targetMs && query.errors == 0)))
            }
            print("| \(on): machine during ingest | \(ingest.machine.summary) | | |")
            if store.backend == "postgres" {
                print(String(format: "| %@: storage | %.1f B/span (pg_total_relation_size, logs included) | ≤ 85 B/span | %@ |",
                             on, store.bytesPerSpan, verdict(store.bytesPerSpan <= 85)))
            } else {
                print(String(format: "| %@: storage | %.1f B/span (%.1f without -wal/-shm; logs included) | ≤ 60 B/span | %@ |",
                             on, store.bytesPerSpan, store.bytesPerSpanExcludingWAL, verdict(store.bytesPerSpan <= 60)))
            }
        }
        for (on, signals) in [("SQLite store", signals), ("PostgreSQL store", postgresSignals)] {
            guard let signals else { continue }
            for key in ["signals", "signalsByOperation", "slos"] {
                guard let query = signals.queries[key] else { continue }
                print(String(format: "| %@: %@ (%d keys × %d d hourly) | p50 %.2f ms, p99 %.2f ms | ≤ %.0f ms | %@ |", on, query.name,
                             signals.services * signals.operations, signals.days,
                             query.latencyMs.p50, query.latencyMs.p99, query.targetMs,
                             verdict(query.latencyMs.p99 <= query.targetMs && query.errors == 0)))
            }
            if let cost = signals.rollupCost { print(cost.row("worst case: every span a request, one per key per hour")) }
        }
        if let rollups = storeRollups { print(rollups.row("store workload, ordinary traffic")) }
    }
}
