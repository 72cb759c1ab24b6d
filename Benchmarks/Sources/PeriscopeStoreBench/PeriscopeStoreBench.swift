import ArgumentParser
import AsyncHTTPClient
import Foundation
import PeriscopeBenchKit

/// `periscope-store-bench`: the collector's store, black-box through its real HTTP API, with the
/// collector pinned to one core: bulk ingest, trace by ID, searches, logs by correlation ID,
/// bytes per span on disk, and golden signals / SLO status over 30 days (DESIGN §9).
@main
struct PeriscopeStoreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "periscope-store-bench",
        abstract: "Store benchmark of periscope-collector (pinned to one core) over loopback HTTP.")

    @Option(help: "Directory holding the release periscope-collector.")
    var binDir: String

    @Option(help: "Spans to store (traces of 10 spans, plus one log record per trace).")
    var spans = 10_000_000

    @Option(help: "Spans per OTLP request.")
    var batchSpans = 2000

    enum Arrival: String, ExpressibleByArgument, CaseIterable {
        case ordered, random
    }

    @Option(help: "Span start times: 'ordered' replays a day as live traffic arrives (oldest first, ±1 min); 'random' spreads every batch over the whole day (a backfill).")
    var arrival: Arrival = .ordered

    @Option(help: "OTLP requests in flight.")
    var inFlight = 3

    @Option(help: "Timed repetitions of each store query (after the warm-up).")
    var repetitions = 200

    @Option(help: "Untimed warm-up requests of each query.")
    var warmup = 20

    @Option(name: .customLong("collector-cpus"), help: "CPU list the collector is pinned to (taskset -c); empty for none.")
    var collectorCPUs = "1"

    @Option(help: "Services in the golden-signals run (one availability SLO each).")
    var signalsServices = 50

    @Option(help: "Operations per service in the golden-signals run.")
    var signalsOperations = 20

    @Option(help: "Days of hourly spans per (service, operation) key in the golden-signals run.")
    var signalsDays = 30

    @Option(help: "Timed repetitions of each signals / SLO query.")
    var signalsRepetitions = 50

    @Flag(help: "Skip the rollup-cost comparisons (the same spans as kind=internal).")
    var skipRollupComparison = false

    @Option(help: "Spans of the store workload ingested twice for the rollup cost at ordinary traffic (an availability and a latency SLO per service): as generated (4 in 10 spans are server spans) and all kind=internal; 0 to skip.")
    var rollupComparisonSpans = 2_000_000

    @Option(help: "Rounds of each rollup-cost comparison (each: the spans as generated and all internal, in ABBA order); the median ratio is reported (of an even count, the higher middle one), since run-to-run noise is as large as the cost.")
    var rollupRounds = 5

    @Flag(help: "Run the store part on the PostgreSQL store too (a private PostgreSQL 15 in the work directory), after the SQLite store, in the same run.")
    var postgres = false

    @Option(name: .customLong("postgres-cpus"), help: "CPU list PostgreSQL is pinned to (taskset -c); empty for none.")
    var postgresCPUs = "0"

    @Option(name: .customLong("postgres-collectors"), help: "Comma-separated collector counts for the PostgreSQL store part: each count runs the ingest (and queries) with that many collectors on one database, batches spread over them in turn.")
    var postgresCollectors = "1"

    @Flag(help: "Skip the store part (ingest N spans, trace/search/log queries).")
    var skipStore = false

    @Flag(help: "Skip the golden-signals / SLO part.")
    var skipSignals = false

    @Flag(help: "Skip the web UI's pages (timed after each SQLite part's queries) and the large trace in headless Chromium.")
    var skipWeb = false

    @Option(help: "Spans of the one large trace whose web UI page is timed, in the store part.")
    var largeTraceSpans = 10_000

    @Option(help: "The script that times a page in headless Chromium.")
    var webTimingScript = "Benchmarks/Scripts/web_ui_timing.py"

    @Option(help: "Timed page loads in Chromium (after one warm-up).")
    var browserRuns = 5

    @Option(help: "Seconds any one ingest (including draining into the store) may take.")
    var ingestTimeout = 3600.0

    @Option(help: "Work directory (data directories, logs); default a fresh one under the temp directory.")
    var workDir: String?

    @Flag(help: "Keep the collectors' data directories.")
    var keepData = false

    @Option(help: "Write the report as JSON here.")
    var jsonOut: String?

    @Option(name: .customLong("collector-sync"), help: "The collectors' --sync: full (their default) or normal.")
    var collectorSync: String?

    mutating func run() async throws {
        let bin = URL(fileURLWithPath: binDir)
        let collectorBinary = bin.appendingPathComponent("periscope-collector")
        guard FileManager.default.isExecutableFile(atPath: collectorBinary.path) else {
            throw ValidationError("no periscope-collector in \(binDir)")
        }
        if !collectorCPUs.isEmpty, !FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset") {
            throw ValidationError("/usr/bin/taskset is missing (util-linux); pass --collector-cpus '' to run unpinned")
        }
        let work = URL(fileURLWithPath: workDir ?? NSTemporaryDirectory())
            .appendingPathComponent(workDir == nil ? "periscope-store-bench-\(getpid())" : "")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let http = StoreClient.makeClient(connections: max(inFlight, 1))
        var report = StoreReport(collectorCPUs: collectorCPUs, cores: ProcessInfo.processInfo.activeProcessorCount)
        do {
            if !skipStore { report.store = try await runStore(collectorBinary: collectorBinary, work: work, http: http) }
            if postgres {
                let server = try BenchPostgres(work: work, cpuList: postgresCPUs.isEmpty ? nil : postgresCPUs)
                defer { server.stop() }
                for (index, text) in postgresCollectors.split(separator: ",").enumerated() {
                    guard let count = Int(text), count >= 1 else { throw ValidationError("--postgres-collectors: '\(text)' is not a count") }
                    let run = try await runStore(
                        collectorBinary: collectorBinary, work: work, http: http, postgres: server, collectors: count, database: "store_bench_\(index)")
                    if index == 0 { report.postgresStore = run } else { report.postgresScaling.append(run) }
                }
                if !skipSignals {
                    report.postgresSignals = try await runSignals(collectorBinary: collectorBinary, work: work, http: http, postgres: server)
                }
            }
            // `--postgres --skip-store` measures the PostgreSQL store alone, signals included.
            if !skipSignals, !(postgres && skipStore) {
                report.signals = try await runSignals(collectorBinary: collectorBinary, work: work, http: http)
            }
            if !skipRollupComparison, rollupComparisonSpans > 0 {
                report.storeRollups = try await runStoreRollupComparison(collectorBinary: collectorBinary, work: work, http: http)
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
        report.printTable()
        if let jsonOut {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: jsonOut))
        }
        if !keepData, workDir == nil { try? FileManager.default.removeItem(at: work) }
    }

    private func startCollector(_ binary: URL, data: URL, work: URL, extra: [String] = []) throws -> ManagedProcess {
        try? FileManager.default.removeItem(at: data)
        let logs = work.appendingPathComponent(data.lastPathComponent + "-logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        return try ManagedProcess(
            binary: binary,
            arguments: ["--listen", "127.0.0.1:0", "--data", data.path, "--insecure-no-auth", "--retention", "60d", "--log-level", "warning"]
                + OptionalFlags.ifSupported("--grpc-listen", "off", by: binary) + (collectorSync.map { ["--sync", $0] } ?? []) + extra,
            logDirectory: logs, cpuList: collectorCPUs.isEmpty ? nil : collectorCPUs)
    }

    private static func nowNanos() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1e9) }

    // MARK: store

    private func runStore(
        collectorBinary: URL, work: URL, http: HTTPClient, postgres: BenchPostgres? = nil, collectors count: Int = 1,
        database: String = "store_bench"
    ) async throws -> StoreReport.Store {
        let data = work.appendingPathComponent(postgres == nil ? "store-data" : "store-pg-data")
        let extra = try postgres.map { ["--store", try $0.createDatabase(database)] } ?? []
        var collectors = [ManagedProcess]()
        defer { for collector in collectors { collector.stop() } }
        for index in 0..<count {
            let directory = index == 0 ? data : work.appendingPathComponent("store-pg-data-\(index)")
            collectors.append(try startCollector(collectorBinary, data: directory, work: work, extra: extra))
        }
        let collector = collectors[0]
        let client = StoreClient(baseURL: "http://127.0.0.1:\(collector.port)", client: http)
        let others = collectors.dropFirst().map { StoreClient(baseURL: "http://127.0.0.1:\($0.port)", client: http) }
        let tracesPerBatch = max(1, batchSpans / StoreWorkload.spansPerTrace)
        let traces = max(1, spans / StoreWorkload.spansPerTrace)
        let workload = storeWorkload(traces: traces)
        let ingest = await ingestStore(
            workload, traces: traces, client: client, pid: collector.pid,
            label: postgres == nil ? "store" : "PostgreSQL store, \(count) collector\(count == 1 ? "" : "s")", postgres: postgres,
            database: database, otherClients: others, otherPIDs: collectors.dropFirst().map(\.pid))

        let diskBytes = try postgres.map { try $0.storeBytes(database) } ?? ProcessStats.directoryBytes(data)
        let databaseBytes = try postgres.map { try $0.storeBytes(database) } ?? ProcessStats.directoryBytes(data, includingWAL: false)

        // Queries: random known IDs / keys, each timed alone (one request at a time).
        let end = workload.nowNanos, startRange = end - workload.windowNanos
        var rng = SplitMix(seed: workload.ids.seed)
        var queries: [String: StoreReport.Query] = [:]
        // DESIGN §9: p99 ≤ 2 ms at 10M spans, whichever the store.
        let traceByIDTargetMs: Double = 2
        queries["traceByID"] = await measure(client, name: "trace by ID", targetMs: traceByIDTargetMs, resultKey: "spans") {
            "/api/v1/traces/" + IDSource.hex(workload.ids.traceID(UInt64(rng.below(traces))))
        }
        queries["searchServiceOperationDuration"] = await measure(client, name: "search service+operation+min_duration", targetMs: 50, resultKey: "traces") {
            "/api/v1/traces?service=\(StoreWorkload.serviceName(rng.below(5)))&operation=\(StoreWorkload.operationName(rng.below(20)))&min_duration=100ms&start=\(startRange)&end=\(end)&limit=20"
        }
        queries["searchAttribute"] = await measure(client, name: "attribute search", targetMs: 200, resultKey: "traces") {
            "/api/v1/traces?attr=http.route=\(StoreWorkload.route(rng.below(20)))&start=\(startRange)&end=\(end)&limit=20"
        }
        queries["logsByCorrelationID"] = await measure(client, name: "logs by correlation ID", targetMs: 10, resultKey: "logs") {
            "/api/v1/logs?correlation_id=" + workload.correlationID(UInt64(rng.below(traces)))
        }
        // A service's latest logs, as `periscope logs --service S` asks (the last 15 minutes of
        // the window, newest first), and a text search that matches nothing, so every record in
        // the window is read: the worst case of `contains`.
        queries["logsRecentByService"] = await measure(client, name: "a service's latest 100 logs (15 min)", targetMs: 50, resultKey: "logs") {
            "/api/v1/logs?service=\(StoreWorkload.serviceName(rng.below(5)))&order=desc&limit=100&start=\(end - 15 * 60 * 1_000_000_000)&end=\(end)"
        }
        queries["logsTextScan"] = await measure(client, name: "log text search, no match (24h, every record read)", targetMs: 1000, resultKey: "logs",
                                                repetitions: min(repetitions, 20), warmup: min(warmup, 2)) {
            "/api/v1/logs?contains=no-such-text-\(rng.below(1000))&start=\(startRange)&end=\(end)&limit=100"
        }
        // The queries above ran right after the ingest, while autovacuum worked through the new
        // partitions on PostgreSQL's core; trace by ID again once it is done.
        var settleSeconds: Double?
        if let postgres {
            let waited = try postgres.waitForAutovacuum(database, timeout: 300)
            settleSeconds = waited
            print(String(format: "  autovacuum done after %.1f s more", waited))
            queries["traceByIDSettled"] = await measure(client, name: "trace by ID, autovacuum done", targetMs: traceByIDTargetMs, resultKey: "spans") {
                "/api/v1/traces/" + IDSource.hex(workload.ids.traceID(UInt64(rng.below(traces))))
            }
        }
        var webPages: [String: StoreReport.Query]?
        var largeTrace: StoreReport.LargeTracePage?
        if postgres == nil, !skipWeb {
            webPages = await storeWebPages(client, workload: workload, traces: traces, start: startRange, end: end)
            largeTrace = await largeTracePage(client, ids: workload.ids, end: end)
        }
        let diskAfterQueries = try postgres.map { try $0.storeBytes(database) } ?? ProcessStats.directoryBytes(data)
        defer { if !keepData { try? FileManager.default.removeItem(at: data) } }
        return StoreReport.Store(
            spans: ingest.spans, traces: traces, logs: traces, batchSpans: tracesPerBatch * StoreWorkload.spansPerTrace,
            inFlight: inFlight, arrival: arrival.rawValue, ingest: ingest, diskBytes: diskBytes, databaseBytes: databaseBytes,
            diskBytesAfterQueries: diskAfterQueries,
            bytesPerSpan: Double(diskBytes) / Double(ingest.spans),
            bytesPerSpanExcludingWAL: Double(databaseBytes) / Double(ingest.spans),
            queries: queries, webPages: webPages, largeTrace: largeTrace,
            backend: postgres == nil ? "sqlite" : "postgres", collectors: count, autovacuumSettleSeconds: settleSeconds)
    }

    /// The store workload of `traces` traces, in arrival order or at random per `--arrival`.
    private func storeWorkload(traces: Int, allInternal: Bool = false) -> StoreWorkload {
        var shape = StoreWorkload(ids: IDSource(), services: 5, operations: 20, nowNanos: Self.nowNanos())
        if arrival == .ordered { shape.orderedTotalTraces = UInt64(traces) }
        shape.allInternal = allInternal
        return shape
    }

    /// Sends `traces` traces (and a log per trace) in batches and waits until they are stored.
    private func ingestStore(
        _ workload: StoreWorkload, traces: Int, client: StoreClient, pid: Int32, label: String, postgres: BenchPostgres? = nil,
        database: String? = nil, otherClients: [StoreClient] = [], otherPIDs: [Int32] = []
    ) async -> StoreReport.Ingest {
        let clients = [client] + otherClients
        let tracesPerBatch = max(1, batchSpans / StoreWorkload.spansPerTrace)
        let batches = (traces + tracesPerBatch - 1) / tracesPerBatch
        print("\(label): ingesting \(traces * StoreWorkload.spansPerTrace) spans + \(traces) logs in \(batches) batches of \(tracesPerBatch) traces, \(inFlight) in flight")
        let clock = ContinuousClock(), start = clock.now
        return await ingest(label: label, spans: traces * StoreWorkload.spansPerTrace, logs: traces, batches: batches, client: client, pid: pid,
                            endNanos: workload.nowNanos, windowNanos: workload.windowNanos, postgres: postgres, database: database,
                            otherPIDs: otherPIDs) { batch in
            let first = UInt64(batch * tracesPerBatch)
            let bodies = workload.bodies(firstTrace: first, count: min(tracesPerBatch, traces - batch * tracesPerBatch))
            var retries = 0, failures = 0
            for (path, body) in [("/v1/traces", bodies.traces), ("/v1/logs", bodies.logs)] {
                if let extra = await clients[batch % clients.count].postOTLP(path: path, body: body) { retries += extra } else { failures += 1 }
            }
            if batch % 500 == 499 { print("  \((batch + 1) * tracesPerBatch * StoreWorkload.spansPerTrace) spans sent, \(Int(StoreClient.ms(clock.now - start) / 1000)) s") }
            return (retries, failures)
        }
    }

    /// The store workload's rollup cost at ordinary traffic: `rollupComparisonSpans` spans as
    /// generated, then the same spans all internal, each into a fresh collector; `rollupRounds`
    /// times, the median ratios reported.
    private func runStoreRollupComparison(collectorBinary: URL, work: URL, http: HTTPClient) async throws -> StoreReport.RollupComparison {
        let traces = max(1, rollupComparisonSpans / StoreWorkload.spansPerTrace)
        // An availability and a latency SLO per service, as a team would set them.
        let sloFile = work.appendingPathComponent("store-slo.yaml")
        var yaml = "slos:\n"
        for service in 0..<5 {
            let name = StoreWorkload.serviceName(service)
            yaml += "  - name: \(name)-availability\n    service: \(name)\n    sli: availability\n    objective: 99.9\n"
            yaml += "  - name: \(name)-latency\n    service: \(name)\n    sli: latency\n    threshold: 100ms\n    objective: 99\n"
        }
        try yaml.write(to: sloFile, atomically: true, encoding: .utf8)
        let rounds = try await rollupRounds(name: "store workload", dataName: "rollup", collectorBinary: collectorBinary, work: work,
                                            http: http, sloFile: sloFile) { allInternal, label, client, pid in
            await ingestStore(storeWorkload(traces: traces, allInternal: allInternal), traces: traces, client: client, pid: pid, label: label)
        }
        return StoreReport.RollupComparison(spans: traces * StoreWorkload.spansPerTrace, requestShare: StoreWorkload.requestShare, rounds: rounds)
    }

    /// `rollupRounds` rounds of ingesting the same spans as generated and all internal, each
    /// into a fresh collector, in ABBA order so that an effect of going first cancels out.
    /// `firstAsGenerated`, when given, stands for the first round's ingest as generated.
    private func rollupRounds(
        name: String, dataName: String, collectorBinary: URL, work: URL, http: HTTPClient, sloFile: URL,
        firstAsGenerated: StoreReport.Ingest? = nil,
        _ ingest: (_ allInternal: Bool, _ label: String, _ client: StoreClient, _ pid: Int32) async -> StoreReport.Ingest
    ) async throws -> [StoreReport.RollupComparison.Round] {
        var reused = firstAsGenerated
        var rounds: [StoreReport.RollupComparison.Round] = []
        for round in 1...max(1, rollupRounds) {
            var ingests: [Bool: StoreReport.Ingest] = [:]
            for allInternal in round % 2 == 1 ? [false, true] : [true, false] {
                if !allInternal, let first = reused {
                    reused = nil
                    ingests[false] = first
                    continue
                }
                let data = work.appendingPathComponent("\(dataName)-\(allInternal ? "internal" : "server")-data")
                let collector = try startCollector(collectorBinary, data: data, work: work, extra: ["--slo", sloFile.path])
                defer {
                    collector.stop()
                    if !keepData { try? FileManager.default.removeItem(at: data) }
                }
                let client = StoreClient(baseURL: "http://127.0.0.1:\(collector.port)", client: http)
                let label = "\(name), \(allInternal ? "all internal" : "as generated"), round \(round)"
                ingests[allInternal] = await ingest(allInternal, label, client, collector.pid)
            }
            rounds.append(StoreReport.RollupComparison.Round(asGenerated: ingests[false]!, allInternal: ingests[true]!))
        }
        return rounds
    }

    /// Warm-up, then `repetitions` timed requests of the URLs `next` makes, one at a time;
    /// `resultKey` names the JSON array counted as results, nil for a web page (its bytes).
    func measure(_ client: StoreClient, name: String, targetMs: Double, resultKey: String?,
                         repetitions: Int? = nil, warmup: Int? = nil,
                         _ next: () -> String) async -> StoreReport.Query {
        let repetitions = repetitions ?? self.repetitions, warmup = warmup ?? self.warmup
        var times: [Double] = [], errors = 0, results = 0, empty = 0, bytes = 0
        var example = ""
        for round in 0..<(warmup + repetitions) {
            let url = next()
            if example.isEmpty { example = url }
            let answer = await client.timedGet(url)
            guard round >= warmup else { continue }
            times.append(answer.ms)
            bytes += answer.body.count
            if answer.status != 200 { errors += 1; continue }
            let count = resultKey.map { StoreClient.resultCount(answer.body, key: $0) ?? 0 } ?? (answer.body.isEmpty ? 0 : 1)
            results += count
            if count == 0 { empty += 1 }
        }
        let figures = Percentiles(times)
        let meanBytes = Double(bytes) / Double(max(1, repetitions))
        print(String(format: "  %@: p50 %.2f ms, p99 %.2f ms (target %.0f ms), %d errors, %@, %d empty",
                     name, figures.p50, figures.p99, targetMs, errors,
                     resultKey == nil ? String(format: "%.0f bytes/page", meanBytes) : String(format: "%.1f results/answer", Double(results) / Double(max(1, repetitions))),
                     empty))
        return StoreReport.Query(name: name, exampleURL: example, targetMs: targetMs, latencyMs: figures, errors: errors,
                                 meanResults: Double(results) / Double(max(1, repetitions)), emptyAnswers: empty,
                                 meanBytes: resultKey == nil ? meanBytes : nil)
    }

    // MARK: signals

    /// Golden signals and SLO status over `signalsDays` of hourly spans; on the PostgreSQL
    /// store when `postgres` is given (its own database; the rollup-cost rounds only on SQLite).
    private func runSignals(collectorBinary: URL, work: URL, http: HTTPClient, postgres: BenchPostgres? = nil) async throws -> StoreReport.Signals {
        let sloFile = work.appendingPathComponent("slo.yaml")
        var yaml = "slos:\n"
        for service in 0..<signalsServices {
            let name = SignalsWorkload.serviceName(service)
            yaml += "  - name: \(name)-availability\n    service: \(name)\n    sli: availability\n    objective: 99.9\n    window: 30d\n"
        }
        try yaml.write(to: sloFile, atomically: true, encoding: .utf8)
        let now = Self.nowNanos()
        let ids = IDSource()
        let server = SignalsWorkload(ids: ids, services: signalsServices, operations: signalsOperations,
                                     hours: signalsDays * 24, nowNanos: now, kind: 2)

        let data = work.appendingPathComponent(postgres == nil ? "signals-data" : "signals-pg-data")
        let store = try postgres.map { ["--store", try $0.createDatabase("signals_bench")] } ?? []
        let collector = try startCollector(collectorBinary, data: data, work: work, extra: ["--slo", sloFile.path] + store)
        let serverIngest: StoreReport.Ingest
        var queries: [String: StoreReport.Query] = [:]
        var webPages: [String: StoreReport.Query]?
        do {
            defer { collector.stop() }
            let client = StoreClient(baseURL: "http://127.0.0.1:\(collector.port)", client: http)
            serverIngest = await ingestSignals(server, client: client, pid: collector.pid,
                                               label: postgres == nil ? "signals, as generated, round 1" : "signals on the PostgreSQL store",
                                               postgres: postgres)
            let start = now - UInt64(signalsDays) * 86_400_000_000_000
            let range = "start=\(start)&end=\(now)"
            queries["signals"] = await measure(client, name: "signals per service, \(signalsDays) d", targetMs: 100, resultKey: "rows",
                                               repetitions: signalsRepetitions, warmup: 5) { "/api/v1/signals?\(range)" }
            queries["signalsByOperation"] = await measure(client, name: "signals per operation, \(signalsDays) d", targetMs: 100, resultKey: "rows",
                                                          repetitions: signalsRepetitions, warmup: 5) { "/api/v1/signals?\(range)&by=operation" }
            queries["slos"] = await measure(client, name: "SLO status", targetMs: 100, resultKey: "slos",
                                            repetitions: signalsRepetitions, warmup: 5) { "/api/v1/slos" }
            if postgres == nil, !skipWeb { webPages = await signalsWebPages(client, services: signalsServices, start: start, end: now) }
        }
        if !keepData { try? FileManager.default.removeItem(at: data) }

        var rollupCost: StoreReport.RollupComparison?
        if !skipRollupComparison, postgres == nil {
            // The ingest above is the first round's as generated.
            let rounds = try await rollupRounds(name: "signals", dataName: "signals", collectorBinary: collectorBinary, work: work,
                                                http: http, sloFile: sloFile, firstAsGenerated: serverIngest) { allInternal, label, client, pid in
                let workload = SignalsWorkload(ids: ids, services: signalsServices, operations: signalsOperations,
                                               hours: signalsDays * 24, nowNanos: now, kind: allInternal ? 1 : 2)
                return await ingestSignals(workload, client: client, pid: pid, label: label)
            }
            rollupCost = StoreReport.RollupComparison(spans: server.totalSpans, requestShare: 1, rounds: rounds)
        }
        return StoreReport.Signals(
            services: signalsServices, operations: signalsOperations, days: signalsDays, spans: server.totalSpans,
            sloCount: signalsServices, ingestServer: serverIngest, rollupCost: rollupCost, queries: queries, webPages: webPages)
    }

    private func ingestSignals(_ workload: SignalsWorkload, client: StoreClient, pid: Int32, label: String,
                               postgres: BenchPostgres? = nil) async -> StoreReport.Ingest {
        let total = workload.totalSpans, batchSpans = self.batchSpans
        return await ingest(label: label, spans: total, logs: 0, batches: (total + batchSpans - 1) / batchSpans, client: client, pid: pid,
                            endNanos: workload.nowNanos, windowNanos: UInt64(workload.hours) * 3_600_000_000_000,
                            postgres: postgres, database: postgres == nil ? nil : "signals_bench") { batch in
            let first = batch * batchSpans
            let body = workload.body(firstSpan: first, count: min(batchSpans, total - first))
            if let extra = await client.postOTLP(path: "/v1/traces", body: body) { return (extra, 0) }
            return (0, 1)
        }
    }

    /// Sends `batches` batches (`send` posts one and returns its retries and failed requests),
    /// `inFlight` at a time, waits until the collector has stored `spans` spans and `logs`
    /// logs and merged their rollups, and reports the time and the collector's CPU it took.
    private func ingest(
        label: String, spans: Int, logs: Int, batches: Int, client: StoreClient, pid: Int32, endNanos: UInt64, windowNanos: UInt64,
        postgres: BenchPostgres? = nil, database: String? = nil, otherPIDs: [Int32] = [],
        send: @escaping @Sendable (Int) async -> (retries: Int, failures: Int)
    ) async -> StoreReport.Ingest {
        let sampler = postgres.flatMap { server in database.flatMap { try? BenchPostgres.LockWaitSampler(server, database: $0) } }
        let machine = MachineWatch()
        let before = ProcessStats.read(pid: pid)
        let othersBefore = otherPIDs.map { ProcessStats.read(pid: $0).cpuSeconds }.reduce(0, +)
        let postgresBefore = postgres?.cpuSeconds
        let clock = ContinuousClock()
        let start = clock.now
        let results = await boundedConcurrently(total: batches, inFlight: inFlight, send)
        let sentAt = clock.now
        let counts = await client.waitStored(spans: spans, logs: logs, timeout: .seconds(ingestTimeout))
        // Rollups are merged from their journal every second and before any signals question:
        // one question over the whole range makes that merge part of what ingest is charged.
        _ = await client.timedGet("/api/v1/signals?start=\(endNanos - windowNanos)&end=\(endNanos)")
        let seconds = StoreClient.ms(clock.now - start) / 1000
        let after = ProcessStats.read(pid: pid)
        let othersAfter = otherPIDs.map { ProcessStats.read(pid: $0).cpuSeconds }.reduce(0, +)
        let cpu = after.cpuSeconds - before.cpuSeconds + othersAfter - othersBefore
        let postgresCPU = postgres.map { $0.cpuSeconds - (postgresBefore ?? 0) }
        let lockWaits = sampler?.stop()
        let deadlocks = postgres.flatMap { server in database.flatMap { try? server.deadlocks($0) } }
        let breakdown = postgres.flatMap { server in database.flatMap { try? server.storeBreakdown($0) } }
        if let lockWaits, let deadlocks {
            print(String(format: "  lock waits %.2f %% of %d busy-backend samples (%@), %d deadlocks; sizes: %@",
                         lockWaits.share * 100, lockWaits.busySamples, lockWaits.events.isEmpty ? "none" : lockWaits.events,
                         deadlocks, breakdown ?? "?"))
        }
        let stored = counts["spans", default: 0]
        if let postgresCPU { print(String(format: "  PostgreSQL %.1f CPU-s, %.0f spans per PostgreSQL CPU-second", postgresCPU, Double(stored) / postgresCPU)) }
        print(String(format: "%@: ingest %.1f s, %.0f spans/s (collector %.1f CPU-s), stored %d spans %d logs",
                     label, seconds, Double(stored) / seconds, cpu, stored, counts["logs", default: 0]))
        return StoreReport.Ingest(
            spans: spans, logs: logs, seconds: seconds, sendSeconds: StoreClient.ms(sentAt - start) / 1000,
            spansPerSecond: Double(stored) / seconds, collectorCPUSeconds: cpu,
            spansPerCPUSecond: cpu > 0 ? Double(stored) / cpu : 0, collectorPeakRSSMiB: after.peakRSSMiB,
            retries: results.reduce(0) { $0 + $1.retries }, failedRequests: results.reduce(0) { $0 + $1.failures },
            storedSpans: stored, storedLogs: counts["logs", default: 0],
            machine: machine.finish(measuredCPUSeconds: cpu + (postgresCPU ?? 0)),
            postgresCPUSeconds: postgresCPU, spansPerPostgresCPUSecond: postgresCPU.map { $0 > 0 ? Double(stored) / $0 : 0 },
            postgresLockWaitShare: lockWaits?.share, postgresLockWaitSamples: lockWaits?.busySamples,
            postgresLockWaitEvents: lockWaits?.events, postgresDeadlocks: deadlocks,
            postgresBreakdown: breakdown)
    }
}
