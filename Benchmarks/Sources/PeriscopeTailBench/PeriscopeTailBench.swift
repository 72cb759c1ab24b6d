import ArgumentParser
import Foundation
import PeriscopeBenchKit
#if canImport(Glibc)
import Glibc
#endif

/// `periscope-tail-bench`: DESIGN §9 "agent tail → parse → queue → ship (JSON lines ~250 B):
/// ≥ 2× the best of rsyslog / syslog-ng per CPU-second, RSS ≤ 50 MiB".
///
/// Writes a log file of `--mib` MiB of JSON lines first (fsynced, so the writer does not compete
/// with the agent) — or, with `--reuse-file`, takes the one a `--write-only` run left, so that
/// peers can read the same file before the agent does — then starts the real release `periscope-agent` pinned to `--agent-cpus` with
/// a `tail:` source on that file (`start_at: beginning`, `format: json`), shipping to a counting
/// OTLP/HTTP sink in this process, and times it from the agent's start until the sink has every
/// line — each checked off by the sequence number in its correlation ID, so lost and duplicated lines
/// are counted exactly. The agent's CPU seconds come from /proc/PID/stat, its peak RSS from
/// VmHWM (and VmRSS sampled every 50 ms).
@main
struct PeriscopeTailBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "periscope-tail-bench",
        abstract: "Tail throughput of periscope-agent (pinned to one core): file → parse → queue → ship.")

    @Option(help: "Directory holding the release periscope-agent.")
    var binDir: String

    @Option(help: "Size of the log file in MiB (JSON lines of ~250 B).")
    var mib = 512

    @Option(name: .customLong("agent-cpus"), help: "CPU list the agent is pinned to (taskset -c); empty for none.")
    var agentCPUs = "1"

    @Option(help: "The agent's queue fsync policy (always, never, or an interval like 200ms); default: the agent's own (always).")
    var fsync: String?

    @Flag(inversion: .prefixedNo, help: "The agent's default redaction rules (on by default, as in the agent).")
    var redactDefaults = true

    @Option(help: "Seconds the agent may take to ship the whole file.")
    var timeout = 300.0

    @Option(help: "Work directory (log file, agent data); default a fresh one under the temp directory.")
    var workDir: String?

    @Flag(help: "Keep the log file and the agent's data directory (and the work directory).")
    var keepData = false

    @Flag(help: "Only write the log file into --work-dir, keep it and exit: peers can read it before the agent (--reuse-file).")
    var writeOnly = false

    @Flag(help: "Tail the log file an earlier --write-only run left in --work-dir instead of writing a new one.")
    var reuseFile = false

    @Option(help: "Also record the agent with `perf record -e cpu-clock -F 499 -g` into this file.")
    var perfRecord: String?

    @Option(help: "Write the report as JSON here.")
    var jsonOut: String?

    static let receiverName = "counting sink (in-process OTLP/HTTP: zstd decoded, every line's correlation_id checked off, 200 with an empty body)"
    static let receiverNote = """
        Not the collector: it stores ~5k items per CPU-second (periscope-store-bench), far below the \
        ~400k lines/s of 100 MiB/s, so it would measure the store, not the agent.
        """
    static let peerNote = "none: neither Fluent Bit nor Vector is installable here (not in Debian's archive, not on PyPI)"

    mutating func run() throws {
        let agentBinary = URL(fileURLWithPath: binDir).appendingPathComponent("periscope-agent")
        guard FileManager.default.isExecutableFile(atPath: agentBinary.path) else {
            throw ValidationError("no periscope-agent in \(binDir)")
        }
        if !agentCPUs.isEmpty, !FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset") {
            throw ValidationError("/usr/bin/taskset is missing (util-linux); pass --agent-cpus '' to run unpinned")
        }
        guard mib > 0, timeout > 0 else { throw ValidationError("--mib and --timeout must be positive") }
        guard !(writeOnly && reuseFile) else { throw ValidationError("--write-only and --reuse-file exclude each other") }
        guard workDir != nil || !(writeOnly || reuseFile) else { throw ValidationError("--write-only and --reuse-file need --work-dir") }
        let keepData = self.keepData || writeOnly
        let work = URL(fileURLWithPath: workDir ?? NSTemporaryDirectory())
            .appendingPathComponent(workDir == nil ? "periscope-tail-bench-\(getpid())" : "")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let logs = work.appendingPathComponent("logs")
        let agentData = work.appendingPathComponent("agent-data")
        defer {
            // The big files always go; the whole directory when this run made it.
            if !keepData {
                try? FileManager.default.removeItem(at: workDir == nil ? work : logs)
                try? FileManager.default.removeItem(at: agentData)
            }
        }
        try? FileManager.default.removeItem(at: agentData)
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)

        // 1. The file, before the agent starts.
        let logFile = logs.appendingPathComponent("app.log")
        let written: LogFileWriter.Written
        if reuseFile {
            written = try LogFileWriter.existing(at: logFile)
            print(String(format: "reusing %@: %d lines, mean %.1f B", logFile.path, written.lines, written.meanLineBytes))
        } else {
            print("writing \(mib) MiB of JSON lines to \(logFile.path)")
            written = try LogFileWriter(targetBytes: mib << 20).write(to: logFile)
            print(String(format: "  %d lines, mean %.1f B, %.2f s", written.lines, written.meanLineBytes, written.writeSeconds))
        }
        if writeOnly { return }

        // 2. The receiver and the agent.
        let sink = try CountingSink(expectedLines: written.lines)
        defer { sink.close() }
        let config = work.appendingPathComponent("agent.yaml")
        try Self.agentYAML(logFile: logFile, redactDefaults: redactDefaults).write(to: config, atomically: true, encoding: .utf8)
        var arguments = ["--config", config.path, "--otlp-listen", "127.0.0.1:0",
                         "--collector", "http://127.0.0.1:\(sink.port)", "--data", agentData.path]
        if let fsync { arguments += ["--fsync", fsync] }
        arguments += OptionalFlags.ifSupported("--otlp-grpc-listen", "off", by: agentBinary)
        print("agent: \(agentBinary.path) \(arguments.joined(separator: " "))\(agentCPUs.isEmpty ? "" : " (taskset -c \(agentCPUs))")")
        let binaryCache = PageCacheResidency.of(path: agentBinary.path)
        let clock = ContinuousClock()
        let machine = MachineWatch()
        let start = clock.now
        let agent = try ManagedProcess(binary: agentBinary, arguments: arguments, logDirectory: work,
                                       timeout: .seconds(30), cpuList: agentCPUs.isEmpty ? nil : agentCPUs)
        let startup = TailBenchClock.seconds(clock.now - start)
        let sampler = RSSSampler(pid: agent.pid)
        let perf = perfRecord.flatMap { Self.startPerf(pid: agent.pid, output: $0, work: work) }

        // 3. Until every line is acknowledged, the agent exits, or the timeout.
        let deadline = start + .seconds(timeout)
        var lastProgress = clock.now
        var exitedEarly = false
        while sink.times.completed == nil {
            if clock.now >= deadline { break }
            if !RSSSampler.isAlive(pid: agent.pid) {
                exitedEarly = true
                break
            }
            if clock.now - lastProgress >= .seconds(5) {
                lastProgress = clock.now
                print(String(format: "  %.0f s: %d of %d lines acknowledged", TailBenchClock.seconds(clock.now - start),
                             sink.counts.uniqueLines, written.lines))
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let stopped = clock.now
        let stats = ProcessStats.read(pid: agent.pid)
        let (samples, peakSample) = sampler.stop()
        if let perf { Self.stopPerf(perf) }
        // A moment for late duplicates, then stop the agent (SIGTERM, SIGKILL after 10 s).
        Thread.sleep(forTimeInterval: 0.5)
        agent.stop()

        let times = sink.times
        let complete = times.completed != nil
        let seconds = TailBenchClock.seconds((times.completed ?? stopped) - start)
        var steady: Double?
        if let first = times.first, let last = times.last, last > first {
            steady = Double(sink.counts.uniqueLines) * written.meanLineBytes / 1_048_576 / TailBenchClock.seconds(last - first)
        }
        let report = TailReport(
            receiver: Self.receiverName, receiverNote: Self.receiverNote, agentCPUs: agentCPUs,
            cores: ProcessInfo.processInfo.activeProcessorCount, fsync: fsync ?? "always (the agent's default)",
            redactDefaults: redactDefaults, file: written, complete: complete, timedOut: !complete && !exitedEarly,
            agentExitedEarly: exitedEarly, startupSeconds: startup,
            firstRecordSeconds: times.first.map { TailBenchClock.seconds($0 - start) }, seconds: seconds,
            steadyMiBPerSecond: steady, agentCPUSeconds: stats.cpuSeconds,
            agentPeakRSSMiB: max(stats.peakRSSMiB, peakSample.rss / 1024), agentMaxSampledRSSMiB: peakSample.rss / 1024,
            agentPeakSampleAnonMiB: peakSample.anon / 1024, agentPeakSampleFileMiB: peakSample.file / 1024, rssSamples: samples,
            counts: sink.counts, peer: Self.peerNote, machine: machine.finish(measuredCPUSeconds: stats.cpuSeconds),
            agentBinaryCache: binaryCache)
        report.printTable()
        if let jsonOut {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: jsonOut))
        }
        if !report.noLoss {
            let errors = (try? String(contentsOf: work.appendingPathComponent("periscope-agent.stderr"), encoding: .utf8)) ?? ""
            if !errors.isEmpty { print("\nagent stderr (tail):\n\(errors.suffix(2000))") }
            throw ExitCode(2)
        }
    }

    static func agentYAML(logFile: URL, redactDefaults: Bool) -> String {
        """
        # periscope-tail-bench: one JSON source read from its beginning; everything else default.
        service: tail-bench
        tail:
          - include: ["\(logFile.path)"]
            service: tail-bench
            start_at: beginning
            format: json
        redact_defaults: \(redactDefaults)

        """
    }

    static func startPerf(pid: Int32, output: String, work: URL) -> Process? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/perf")
        process.arguments = ["record", "-e", "cpu-clock", "-F", "499", "-g", "-p", String(pid), "-o", output]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try? FileHandle(forWritingTo: {
            let url = work.appendingPathComponent("perf.stderr")
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
            return url
        }())
        do {
            try process.run()
        } catch {
            print("perf record could not start: \(error)")
            return nil
        }
        return process
    }

    static func stopPerf(_ process: Process) {
        guard process.isRunning else { return }
        process.interrupt()
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

enum TailBenchClock {
    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
