import Foundation
import PeriscopeBenchKit

/// What `periscope-tail-bench` measured; written as JSON with `--json-out`.
struct TailReport: Codable, Sendable {
    /// DESIGN §9's limit on the agent's memory while tailing. Its throughput target is relative
    /// (≥ 2× the best of rsyslog / syslog-ng per CPU-second in the same run), so it is judged where
    /// both are known: `Benchmarks/Peers/tail_peers.py` measures the peers, BENCHMARKS.md compares.
    struct Targets: Codable, Sendable {
        var peakRSSMiB = 50.0
    }

    /// What received the agent's batches.
    var receiver: String
    var receiverNote: String
    /// The `taskset -c` CPU list of the agent ("" when unpinned).
    var agentCPUs: String
    var cores: Int
    /// The agent's `queue.fsync` ("always" is its default).
    var fsync: String
    var redactDefaults: Bool
    var file: LogFileWriter.Written
    var targets = Targets()

    /// Every line of the file checked off by the receiver before the timeout.
    var complete: Bool
    var timedOut: Bool
    var agentExitedEarly: Bool
    /// From spawning the agent until its `listening on` line.
    var startupSeconds: Double
    /// From spawning the agent until the first log record reached the receiver.
    var firstRecordSeconds: Double?
    /// From spawning the agent until the receiver had every line (or until the timeout).
    var seconds: Double
    /// File bytes (lines acknowledged × mean line size when incomplete) ÷ `seconds`.
    var mibPerSecond: Double
    var linesPerSecond: Double
    /// The same from the first record received to the last one (steady state, no start-up).
    var steadyMiBPerSecond: Double?

    /// utime + stime of the agent over the whole run (/proc/PID/stat).
    var agentCPUSeconds: Double
    /// `agentCPUSeconds ÷ seconds`: 1.0 means the one core was saturated.
    var agentCPUUtilization: Double
    var mibPerAgentCPUSecond: Double
    /// `VmHWM` of /proc/PID/status at the end, and the largest `VmRSS` sampled every 50 ms.
    var agentPeakRSSMiB: Double
    var agentMaxSampledRSSMiB: Double
    /// That largest sample split: anonymous memory (the agent's heap) and file-backed pages
    /// (binary, Swift runtime, Foundation, ICU data).
    var agentPeakSampleAnonMiB: Double
    var agentPeakSampleFileMiB: Double
    var rssSamples: Int

    var linesWritten: Int
    var linesReceived: Int
    var lostLines: Int
    var counts: CountingSink.Counts

    var meetsRSS: Bool
    /// Every line received once: none lost, duplicated or unreadable.
    var noLoss: Bool

    /// A peer (Fluent Bit, Vector) on the same file when one is installed here, else why not.
    var peer: String
    /// The CPU and what else ran meanwhile (from the agent's start to the last line).
    var machine: MachineReport
    /// The agent binary's pages in the page cache when it started: the file-backed part of its
    /// RSS depends on it (see `PageCacheResidency`).
    var agentBinaryCache: PageCacheResidency?

    init(receiver: String, receiverNote: String, agentCPUs: String, cores: Int, fsync: String, redactDefaults: Bool,
         file: LogFileWriter.Written, complete: Bool, timedOut: Bool, agentExitedEarly: Bool, startupSeconds: Double,
         firstRecordSeconds: Double?, seconds: Double, steadyMiBPerSecond: Double?, agentCPUSeconds: Double,
         agentPeakRSSMiB: Double, agentMaxSampledRSSMiB: Double, agentPeakSampleAnonMiB: Double,
         agentPeakSampleFileMiB: Double, rssSamples: Int, counts: CountingSink.Counts, peer: String, machine: MachineReport,
         agentBinaryCache: PageCacheResidency?) {
        self.machine = machine
        self.agentBinaryCache = agentBinaryCache
        self.receiver = receiver
        self.receiverNote = receiverNote
        self.agentCPUs = agentCPUs
        self.cores = cores
        self.fsync = fsync
        self.redactDefaults = redactDefaults
        self.file = file
        self.complete = complete
        self.timedOut = timedOut
        self.agentExitedEarly = agentExitedEarly
        self.startupSeconds = startupSeconds
        self.firstRecordSeconds = firstRecordSeconds
        self.seconds = seconds
        self.steadyMiBPerSecond = steadyMiBPerSecond
        self.agentCPUSeconds = agentCPUSeconds
        self.agentPeakRSSMiB = agentPeakRSSMiB
        self.agentMaxSampledRSSMiB = agentMaxSampledRSSMiB
        self.agentPeakSampleAnonMiB = agentPeakSampleAnonMiB
        self.agentPeakSampleFileMiB = agentPeakSampleFileMiB
        self.rssSamples = rssSamples
        self.counts = counts
        self.peer = peer
        linesWritten = file.lines
        linesReceived = counts.uniqueLines
        lostLines = file.lines - counts.uniqueLines
        let bytesDone = complete ? Double(file.bytes) : Double(counts.uniqueLines) * file.meanLineBytes
        mibPerSecond = seconds > 0 ? bytesDone / 1_048_576 / seconds : 0
        linesPerSecond = seconds > 0 ? Double(counts.uniqueLines) / seconds : 0
        agentCPUUtilization = seconds > 0 ? agentCPUSeconds / seconds : 0
        mibPerAgentCPUSecond = agentCPUSeconds > 0 ? bytesDone / 1_048_576 / agentCPUSeconds : 0
        meetsRSS = agentPeakRSSMiB > 0 && agentPeakRSSMiB <= targets.peakRSSMiB
        noLoss = complete && lostLines == 0 && counts.duplicateRecords == 0 && counts.unknownRecords == 0
    }

    func printTable() {
        func verdict(_ ok: Bool) -> String { ok ? "met" : "MISSED" }
        let mib = Double(file.bytes) / 1_048_576
        let core = agentCPUs.isEmpty ? "unpinned" : "CPU \(agentCPUs)"
        print("\nagent tail → parse → queue → ship: \(String(format: "%.0f", mib)) MiB, \(file.lines) JSON lines (mean \(String(format: "%.1f", file.meanLineBytes)) B), agent on \(core), fsync \(fsync)")
        print("receiver: \(receiver)")
        print("\n| what | measured | target | verdict |")
        print("| --- | --- | --- | --- |")
        print(String(format: "| throughput, agent start → last line acknowledged | %.1f MiB/s (%.0f lines/s, %.2f s), %.1f MiB per agent CPU-second | ≥ 2× the best of rsyslog / syslog-ng per CPU-second (`tail_peers.py` on the same file) | see BENCHMARKS.md |",
                     mibPerSecond, linesPerSecond, seconds, mibPerAgentCPUSecond))
        print(String(format: "| agent peak RSS (VmHWM) | %.1f MiB | ≤ 50 MiB | %@ |", agentPeakRSSMiB, verdict(meetsRSS)))
        print("\n| detail | value |")
        print("| --- | --- |")
        print(String(format: "| agent CPU | %.2f CPU-s (%.0f %% of one core), %.1f MiB per CPU-second |",
                     agentCPUSeconds, agentCPUUtilization * 100, mibPerAgentCPUSecond))
        if let steadyMiBPerSecond, let firstRecordSeconds {
            print(String(format: "| steady state (first record → last) | %.1f MiB/s; first record after %.2f s (start-up %.2f s) |",
                         steadyMiBPerSecond, firstRecordSeconds, startupSeconds))
        }
        print(String(format: "| agent RSS sampled every 50 ms | max %.1f MiB over %d samples (%.1f MiB anonymous, %.1f MiB file-backed) |",
                     agentMaxSampledRSSMiB, rssSamples, agentPeakSampleAnonMiB, agentPeakSampleFileMiB))
        print("| agent binary in the page cache at start | \(agentBinaryCache?.summary ?? "unknown") (file-backed RSS is higher with more cached) |")
        print("| lines written / received | \(file.lines) / \(counts.uniqueLines) (lost \(lostLines), duplicated \(counts.duplicateRecords), unreadable \(counts.unknownRecords)) |")
        print("| log requests | \(counts.logRequests) (\(counts.resentBatches) re-sent batches, \(counts.resentRecords) records; \(counts.malformedRequests) malformed); other requests \(counts.otherRequests) |")
        print(String(format: "| shipped bytes | %.1f MiB zstd → %.1f MiB OTLP protobuf (%.2f B per line on the wire) |",
                     Double(counts.wireBytes) / 1_048_576, Double(counts.decodedBytes) / 1_048_576,
                     counts.records > 0 ? Double(counts.wireBytes) / Double(counts.records) : 0))
        print("| file written in | \(String(format: "%.2f", file.writeSeconds)) s (before the agent started, fsynced) |")
        print("| peer | \(peer) |")
        print("| machine | \(machine.summary) |")
        if let error = counts.firstError { print("| first receiver error | \(error) |") }
        if timedOut { print("\nTIMED OUT before every line was acknowledged") }
        if agentExitedEarly { print("\nTHE AGENT EXITED before every line was acknowledged") }
    }
}
