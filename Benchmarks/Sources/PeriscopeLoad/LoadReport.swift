import PeriscopeBenchKit
import Foundation

/// The run's outcome: what was sent and stored, at what speed, freshness and cost. Printed as
/// one JSON object (for `run.sh` and BENCHMARKS.md) and as a table for people.
struct LoadReport: Codable, Sendable {
    /// What one server process used.
    struct Resources: Codable, Sendable {
        /// CPU seconds used from the start of the load until everything was stored.
        var cpuSeconds: Double
        /// Peak resident memory (`VmHWM`).
        var peakRSSMiB: Double
    }

    /// The load that was offered.
    var shape: LoadShape
    /// `generator` (this program's own OTLP client) or the external client's command.
    var client: String
    /// Seconds from the first request to the last answer.
    var sendSeconds: Double
    /// Seconds from the first request until the collector held every accepted item.
    var storedSeconds: Double
    var acceptedSpans: Int
    var acceptedLogs: Int
    var refusedSpans: Int
    var refusedLogs: Int
    var refusals: [String: Int]
    var storedSpans: Int
    var storedLogs: Int
    var acceptedSpansPerSecond: Double
    var acceptedLogsPerSecond: Double
    var agentLatencyMs: Percentiles
    var freshnessFromSendMs: Percentiles
    var freshnessFromAckMs: Percentiles
    var freshnessTimeouts: Int
    /// Sampled traces fetched by ID after the run, and how many came back complete.
    var spotChecked: Int
    var spotCheckComplete: Int
    var agent: Resources
    var collector: Resources
    /// Bytes the agent sent the collector (zstd bodies and HTTP framing), counted by a relay.
    var wireBytes: Int
    var wireBytesPerItem: Double
    /// Agent shipping throughput over `storedSeconds`: items and MiB per second.
    var shippedItemsPerSecond: Double
    var shippedMiBPerSecond: Double
    /// Size of the collector's data directory (databases, WAL, SHM) after the run.
    var diskBytes: Int
    var diskBytesPerItem: Double
    /// The same without the `-wal` and `-shm` files: what the databases hold once checkpointed.
    var databaseBytesPerItem: Double
    /// What the external client printed about itself, if one was used.
    var clientReport: [String: Double]?
    /// True when every accepted item was stored and every spot-checked trace was complete.
    var noLoss: Bool
    /// The CPU and what else ran meanwhile.
    var machine: MachineReport

    /// The JSON form, keys sorted so runs diff cleanly.
    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// The human table.
    func table() -> String {
        func number(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
        let rows: [(String, String)] = [
            ("client", client),
            ("load", clientReport == nil
                ? "\(shape.services) services × \(shape.spansPerSecond) spans/s + \(shape.logsPerSecond) logs/s, \(number(shape.durationSeconds, 0)) s"
                : "as the external client sends it"),
            ("accepted spans/s", number(acceptedSpansPerSecond)),
            ("accepted logs/s", number(acceptedLogsPerSecond)),
            ("accepted / stored spans", "\(acceptedSpans) / \(storedSpans) (refused \(refusedSpans))"),
            ("accepted / stored logs", "\(acceptedLogs) / \(storedLogs) (refused \(refusedLogs))"),
            ("spot check (trace by ID)", "\(spotCheckComplete)/\(spotChecked) complete"),
            ("agent answer p50 / p99", "\(number(agentLatencyMs.p50)) / \(number(agentLatencyMs.p99)) ms"),
            ("freshness p50 / p99 (from send)", "\(number(freshnessFromSendMs.p50)) / \(number(freshnessFromSendMs.p99)) ms (n=\(freshnessFromSendMs.count), late \(freshnessTimeouts))"),
            ("freshness p50 / p99 (from 200)", "\(number(freshnessFromAckMs.p50)) / \(number(freshnessFromAckMs.p99)) ms"),
            ("agent CPU s / peak RSS", "\(number(agent.cpuSeconds, 2)) s / \(number(agent.peakRSSMiB)) MiB"),
            ("collector CPU s / peak RSS", "\(number(collector.cpuSeconds, 2)) s / \(number(collector.peakRSSMiB)) MiB"),
            ("wire bytes per item", number(wireBytesPerItem)),
            ("disk bytes per item (w/o WAL)", "\(number(diskBytesPerItem)) (\(number(databaseBytesPerItem)))"),
            ("agent ship items/s, MiB/s", "\(number(shippedItemsPerSecond)), \(number(shippedMiBPerSecond, 2))"),
            ("no loss", noLoss ? "yes" : "NO"),
            ("machine", machine.summary),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }
}
