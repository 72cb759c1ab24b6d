import PeriscopeBenchKit
import Foundation

/// One measured run: baseline readings, the load, waiting until the collector holds every
/// accepted item, a spot check of traces by ID, and the final readings that make the report.
struct LoadRun: Sendable {
    let shape: LoadShape
    let stack: LoadStack
    let endpoints: HTTPEndpoints
    let freshnessSamples: Int
    let drainTimeout: Duration
    /// Traces fetched by ID after the run to check they are whole.
    let spotCheckSize = 50

    /// Runs the load (or `clientCommand`), waits for the collector to catch up, and reports.
    func execute(clientCommand: String?, clientTarget: String = "agent", clientMayDrop: Bool = false, work: URL) async throws -> LoadReport {
        let ledger = LoadLedger()
        let ids = IDSource()
        let machine = MachineWatch()
        let agentBefore = ProcessStats.read(pid: stack.agent.pid)
        let collectorBefore = ProcessStats.read(pid: stack.collector.pid)
        let start = ContinuousClock.now

        var clientReport: [String: Double]?
        if let clientCommand {
            let numbers = try ExternalClient.run(
                command: clientCommand, agentURL: clientTarget == "collector" ? stack.collectorURL : stack.agentURL, workDirectory: work,
                timeout: .seconds(shape.durationSeconds * 10 + 120))
            if clientMayDrop {
                // What arrived is the measure: wait for the store to stop growing, then take its count as accepted.
                let counts = await waitUntilSettled()
                ledger.recordExternal(spans: counts["spans"] ?? 0, logs: counts["logs"] ?? 0)
            } else {
                ledger.recordExternal(spans: Int(numbers["spans"] ?? 0), logs: Int(numbers["logs"] ?? 0))
            }
            clientReport = numbers
        } else {
            await LoadDriver(shape: shape, endpoints: endpoints, ids: ids, ledger: ledger,
                             freshnessSamples: freshnessSamples).run()
        }
        let sendSeconds = LoadDriver.milliseconds(ContinuousClock.now - start) / 1000

        let sent = ledger.snapshot
        let counts = await endpoints.waitUntilStored(spans: sent.acceptedSpans, logs: sent.acceptedLogs, timeout: drainTimeout)
        let storedSeconds = LoadDriver.milliseconds(ContinuousClock.now - start) / 1000
        let (checked, complete) = await spotCheck(sent.acceptedTraceNumbers, ids: ids)

        let agentAfter = ProcessStats.read(pid: stack.agent.pid)
        let collectorAfter = ProcessStats.read(pid: stack.collector.pid)
        let storedSpans = counts["spans"] ?? 0
        let storedLogs = counts["logs"] ?? 0
        let items = max(1, storedSpans + storedLogs)
        let wireBytes = stack.bytesUpstream
        let diskBytes = ProcessStats.directoryBytes(stack.collectorData)
        let databaseBytes = ProcessStats.directoryBytes(stack.collectorData, includingWAL: false)
        return LoadReport(
            shape: shape, client: clientCommand ?? "generator",
            sendSeconds: sendSeconds, storedSeconds: storedSeconds,
            acceptedSpans: sent.acceptedSpans, acceptedLogs: sent.acceptedLogs,
            refusedSpans: sent.refusedSpans, refusedLogs: sent.refusedLogs,
            refusals: Dictionary(uniqueKeysWithValues: sent.refusals.map { ("\($0.key)", $0.value) }),
            storedSpans: storedSpans, storedLogs: storedLogs,
            acceptedSpansPerSecond: Double(sent.acceptedSpans) / max(0.001, sendSeconds),
            acceptedLogsPerSecond: Double(sent.acceptedLogs) / max(0.001, sendSeconds),
            agentLatencyMs: Percentiles(sent.latenciesMs),
            freshnessFromSendMs: Percentiles(sent.freshnessFromSendMs),
            freshnessFromAckMs: Percentiles(sent.freshnessFromAckMs),
            freshnessTimeouts: sent.freshnessTimeouts,
            spotChecked: checked, spotCheckComplete: complete,
            agent: .init(cpuSeconds: agentAfter.cpuSeconds - agentBefore.cpuSeconds, peakRSSMiB: agentAfter.peakRSSMiB),
            collector: .init(cpuSeconds: collectorAfter.cpuSeconds - collectorBefore.cpuSeconds,
                             peakRSSMiB: collectorAfter.peakRSSMiB),
            wireBytes: wireBytes, wireBytesPerItem: Double(wireBytes) / Double(items),
            shippedItemsPerSecond: Double(storedSpans + storedLogs) / max(0.001, storedSeconds),
            shippedMiBPerSecond: Double(wireBytes) / 1_048_576 / max(0.001, storedSeconds),
            diskBytes: diskBytes, diskBytesPerItem: Double(diskBytes) / Double(items),
            databaseBytesPerItem: Double(databaseBytes) / Double(items),
            clientReport: clientReport,
            noLoss: storedSpans >= sent.acceptedSpans && storedLogs >= sent.acceptedLogs && complete == checked,
            machine: machine.finish(measuredCPUSeconds: agentAfter.cpuSeconds - agentBefore.cpuSeconds
                + collectorAfter.cpuSeconds - collectorBefore.cpuSeconds))
    }

    /// Polls `/api/v1/status` until its counts have not changed for 2 s (or the drain timeout).
    private func waitUntilSettled() async -> [String: Int] {
        let deadline = ContinuousClock.now + drainTimeout
        var last: [String: Int] = [:]
        var stableSince = ContinuousClock.now
        repeat {
            if let counts = await endpoints.collectorCounts() {
                if counts != last {
                    last = counts
                    stableSince = .now
                } else if ContinuousClock.now - stableSince >= .seconds(2) {
                    return counts
                }
            }
            try? await Task.sleep(for: .milliseconds(100))
        } while ContinuousClock.now < deadline
        return last
    }

    /// Fetches up to `spotCheckSize` accepted traces, evenly spread, and counts the whole ones.
    private func spotCheck(_ traceNumbers: [UInt64], ids: IDSource) async -> (checked: Int, complete: Int) {
        guard !traceNumbers.isEmpty else { return (0, 0) }
        let sorted = traceNumbers.sorted()
        let step = max(1, sorted.count / spotCheckSize)
        var checked = 0
        var complete = 0
        for index in stride(from: 0, to: sorted.count, by: step).prefix(spotCheckSize) {
            checked += 1
            let count = await endpoints.spanCount(traceHex: IDSource.hex(ids.traceID(sorted[index])))
            if count == shape.spansPerTrace { complete += 1 }
        }
        return (checked, complete)
    }
}
