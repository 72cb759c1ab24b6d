import Foundation
import PeriscopeQueryAPI
import PeriscopeTesting
import Synchronization
import Testing

/// Issue 4's torture tests, against the real binaries: a writer at a fixed rate, rotation every
/// second, the agent `kill -9`'d and restarted at random moments; then every written line is
/// looked up in the collector. The counts compared are printed.
@Suite("Tail torture", .serialized)
struct TailTortureTests {
    static let rate = 500  // lines per second
    static let duration = 10  // seconds of writing
    static let kills = 5

    /// The sequence number of the last line written, shared with the rotator and the test.
    final class Progress: Sendable {
        let written = Atomic<Int>(0)
        let writing = Atomic<Bool>(true)
    }

    static func line(_ seq: Int, service: String) -> String {
        let time = ISO8601DateFormatter().string(from: Date())
        return #"{"time":"\#(time)","level":"info","msg":"line-\#(seq)","seq":\#(seq),"service":"\#(service)"}"# + "\n"
    }

    static func agentConfig(_ directory: TemporaryDirectory, include: String, service: String, extra: String = "") throws -> String {
        let path = directory.file("agent.yaml").path
        try agentConfigText(include: include, service: service, extra: extra).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func agentConfigText(include: String, service: String, extra: String = "") -> String {
        """
        tail:
          - include: ["\(include)"]
            service: \(service)
            start_at: beginning
            format: json
        \(extra)
        """
    }

    static func storedLogs(_ collector: CollectorProcess, service: String) async throws -> [QueryAPI.Log] {
        let reply = try await TestHTTP.get(
            collector.url + "/api/v1/logs?service=\(service)&limit=10000", headers: ["Authorization": "Bearer \(collector.token)"])
        return (try? JSONDecoder().decode(QueryAPI.Logs.self, from: Data(reply.body)))?.logs ?? []
    }

    /// Waits until the service's record count reaches `expected` and stops changing (bounded).
    static func waitForRecords(_ collector: CollectorProcess, service: String, expected: Int, timeout: Duration = .seconds(90)) async throws -> [QueryAPI.Log] {
        let deadline = ContinuousClock.now + timeout
        var last = -1
        var stableSince = ContinuousClock.now
        var logs: [QueryAPI.Log] = []
        while ContinuousClock.now < deadline {
            logs = try await storedLogs(collector, service: service)
            if logs.count != last {
                last = logs.count
                stableSince = .now
            } else if logs.count >= expected && ContinuousClock.now - stableSince > .seconds(2) {
                break
            } else if ContinuousClock.now - stableSince > .seconds(40) {
                // Longer than the shipper's longest retry delay (30 s): nothing more is coming.
                break
            }
            try await Task.sleep(for: .milliseconds(300))
        }
        return logs
    }

    /// Counts of each `line-N` body.
    static func tally(_ logs: [QueryAPI.Log]) -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for log in logs {
            let body = log.body.text
            if body.hasPrefix("line-"), let seq = Int(body.dropFirst(5)) { counts[seq, default: 0] += 1 }
        }
        return counts
    }

    /// Kills and restarts the agent `kills` times at random moments while `isWriting`.
    static func killRepeatedly(
        _ agent: inout AgentProcess, directory: TemporaryDirectory, collector: CollectorProcess, config: String
    ) async throws -> Int {
        var killed = 0
        for _ in 0..<kills {
            try await Task.sleep(for: .milliseconds(Int.random(in: 700...2200)))
            await agent.process.kill9()
            killed += 1
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...400)))
            agent = try await AgentProcess.start(in: directory, collector: collector, extraArguments: ["--config", config])
        }
        return killed
    }

    @Test("rename-and-create every second, kill -9 at random moments: every line exactly once")
    func renameAndCreate() async throws {
        let directory = try TemporaryDirectory("tail-torture")
        let logs = directory.file("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let service = "tail-rename-\(UUID().uuidString.prefix(6).lowercased())"
        let path = logs.appendingPathComponent("app.log").path
        let config = try Self.agentConfig(directory, include: path, service: service)
        let collector = try await CollectorProcess.start(in: directory)
        var agent = try await AgentProcess.start(in: directory, collector: collector, extraArguments: ["--config", config])
        let progress = Progress()
        let total = Self.rate * Self.duration
        let writer = Task.detached { () -> Int in
            var fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            var rotations = 0
            var nextRotation = ContinuousClock.now + .seconds(1)
            let start = ContinuousClock.now
            var seq = 0
            while seq < total, ContinuousClock.now - start < .seconds(Self.duration * 3) {
                for _ in 0..<(Self.rate / 100) where seq < total {
                    seq += 1
                    let text = Self.line(seq, service: service)
                    _ = text.withCString { write(fd, $0, strlen($0)) }
                    progress.written.store(seq, ordering: .releasing)
                }
                if ContinuousClock.now >= nextRotation {
                    rotations += 1
                    rename(path, path + ".\(rotations)")
                    // A real service writes a little more to the old file before it reopens.
                    for _ in 0..<3 where seq < total {
                        seq += 1
                        _ = Self.line(seq, service: service).withCString { write(fd, $0, strlen($0)) }
                    }
                    close(fd)
                    fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                    nextRotation = ContinuousClock.now + .seconds(1)
                }
                try? await Task.sleep(for: .milliseconds(10))
            }
            close(fd)
            progress.written.store(seq, ordering: .releasing)
            return rotations
        }
        let killed = try await Self.killRepeatedly(&agent, directory: directory, collector: collector, config: config)
        let rotations = await writer.value
        let written = progress.written.load(ordering: .acquiring)
        let stored = try await Self.waitForRecords(collector, service: service, expected: written)
        let counts = Self.tally(stored)
        let missing = (1...written).filter { counts[$0] == nil }
        let duplicated = counts.filter { $0.value > 1 }.count
        print("tail rename-and-create: written \(written) lines, \(rotations) rotations, agent kill -9 ×\(killed); stored \(stored.count), distinct \(counts.count), missing \(missing.count) \(missing.prefix(10)), duplicated \(duplicated)")
        #expect(rotations >= Self.duration - 2)
        #expect(missing.isEmpty)
        #expect(duplicated == 0)
        #expect(stored.count == written)
        await agent.process.stop()
        await collector.process.stop()
    }

    @Test("copytruncate every second, kill -9 at random moments: only lines between copy and truncate may be lost, none twice")
    func copyTruncate() async throws {
        let directory = try TemporaryDirectory("tail-torture")
        let logs = directory.file("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let service = "tail-copytruncate-\(UUID().uuidString.prefix(6).lowercased())"
        let path = logs.appendingPathComponent("app.log").path
        let config = try Self.agentConfig(directory, include: path, service: service)
        let collector = try await CollectorProcess.start(in: directory)
        var agent = try await AgentProcess.start(in: directory, collector: collector, extraArguments: ["--config", config])
        let progress = Progress()
        let total = Self.rate * Self.duration
        // The service: one O_APPEND descriptor for its whole life, as copytruncate assumes.
        let writer = Task.detached {
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            let start = ContinuousClock.now
            var seq = 0
            while seq < total, ContinuousClock.now - start < .seconds(Self.duration * 3) {
                for _ in 0..<(Self.rate / 100) where seq < total {
                    seq += 1
                    _ = Self.line(seq, service: service).withCString { write(fd, $0, strlen($0)) }
                    progress.written.store(seq, ordering: .releasing)
                }
                try? await Task.sleep(for: .milliseconds(10))
            }
            close(fd)
            progress.writing.store(false, ordering: .releasing)
        }
        // logrotate's copytruncate: copy the file, then truncate it. Lines written between the
        // copy's read and the truncate are in neither file: the window recorded here.
        let rotator = Task.detached { () -> (rotations: Int, windows: [ClosedRange<Int>]) in
            var windows: [ClosedRange<Int>] = []
            var rotations = 0
            while progress.writing.load(ordering: .acquiring), rotations < Self.duration * 3 {
                try? await Task.sleep(for: .seconds(1))
                rotations += 1
                let beforeCopy = progress.written.load(ordering: .acquiring)
                guard let data = FileManager.default.contents(atPath: path) else { continue }
                _ = FileManager.default.createFile(atPath: path + ".\(rotations)", contents: data)
                truncate(path, 0)
                let afterTruncate = progress.written.load(ordering: .acquiring)
                // `written` is published after each write, so line afterTruncate + 1 may already be
                // in the file (and truncated away) though not yet counted; the line after it cannot.
                windows.append((beforeCopy + 1)...(afterTruncate + 1))
            }
            return (rotations, windows)
        }
        let killed = try await Self.killRepeatedly(&agent, directory: directory, collector: collector, config: config)
        await writer.value
        let (rotations, windows) = await rotator.value
        let written = progress.written.load(ordering: .acquiring)
        let atRisk = Set(windows.flatMap { Array($0) })
        let stored = try await Self.waitForRecords(collector, service: service, expected: written - atRisk.count)
        let counts = Self.tally(stored)
        let missing = (1...written).filter { counts[$0] == nil }
        let missingOutside = missing.filter { !atRisk.contains($0) }
        let duplicated = counts.filter { $0.value > 1 }.count
        print("tail copytruncate: written \(written) lines, \(rotations) rotations, agent kill -9 ×\(killed); lines in copy→truncate windows \(atRisk.count) \(windows.prefix(5)); stored \(stored.count), missing \(missing.count) (outside the windows \(missingOutside.count) \(missingOutside.prefix(10))), duplicated \(duplicated)")
        #expect(rotations >= Self.duration - 2)
        #expect(missingOutside.isEmpty)
        #expect(duplicated == 0)
        await agent.process.stop()
        await collector.process.stop()
    }

    @Test("a 10 MB line, binary garbage, invalid UTF-8 and a file deleted while read: the agent keeps running and later lines arrive")
    func hostileFiles() async throws {
        let directory = try TemporaryDirectory("tail-torture")
        let logs = directory.file("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let service = "tail-hostile-\(UUID().uuidString.prefix(6).lowercased())"
        let config = try Self.agentConfig(
            directory, include: logs.path + "/*.log", service: service,
            extra: "service: \(service)-host\nself_telemetry_interval: 500ms\nhost_metrics_interval: 1s")
        let collector = try await CollectorProcess.start(in: directory)
        let agent = try await AgentProcess.start(
            in: directory, collector: collector, extraArguments: ["--config", config, "--watch-pid", String(getpid())])
        func append(_ name: String, _ bytes: [UInt8]) {
            let fd = open(logs.appendingPathComponent(name).path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        try await Task.sleep(for: .milliseconds(600))
        // A 10 MB line, then a normal one.
        append("big.log", Array(#"{"msg":""#.utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 10 << 20) + Array("\"}\n".utf8))
        append("big.log", Array(Self.line(1, service: service).utf8))
        // Binary garbage and invalid UTF-8, then a normal line.
        var generator = SystemRandomNumberGenerator()
        append("bin.log", (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) } + [0x0A, 0xFF, 0xFE, 0xC3, 0x0A])
        append("bin.log", Array(Self.line(2, service: service).utf8))
        // A file deleted while the agent reads it: opened first, then ~10 MB appended and deleted at once.
        append("doomed.log", Array("doomed line 0\n".utf8))
        try await Task.sleep(for: .milliseconds(800))
        let doomed = (1..<9000).map { "doomed line \($0) " + String(repeating: "y", count: 1100) }.joined(separator: "\n") + "\n"
        append("doomed.log", Array(doomed.utf8))
        try FileManager.default.removeItem(at: logs.appendingPathComponent("doomed.log"))
        try await Task.sleep(for: .seconds(2))
        append("later.log", Array(Self.line(3, service: service).utf8))
        var counts: [Int: Int] = [:]
        var stored: [QueryAPI.Log] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            stored = try await Self.storedLogs(collector, service: service)
            counts = Self.tally(stored)
            if counts.count == 3 && stored.filter({ $0.body.text.hasPrefix("doomed line") }).count >= 9000 { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        let truncated = stored.filter { $0.attributes["periscope.truncated"] == .bool(true) }
        let parseErrors = stored.filter { $0.attributes["periscope.parse_error"] == .bool(true) }
        let doomedStored = stored.filter { $0.body.text.hasPrefix("doomed line") }.count
        print("tail hostile files: later lines \(counts.keys.sorted()), truncated records \(truncated.count) (original length \(truncated.first?.attributes["periscope.original_length"]?.text ?? "-")), parse errors \(parseErrors.count), lines of the deleted file \(doomedStored)/9000, agent running \(agent.process.isRunning)")
        #expect(counts == [1: 1, 2: 1, 3: 1])
        #expect(truncated.count == 1)
        #expect(truncated.first?.attributes["periscope.original_length"] == .int(Int64((10 << 20) + 10)), "the line without its newline")
        #expect(!parseErrors.isEmpty)
        #expect(doomedStored == 9000, "a deleted file is read to its end before it is released")
        #expect(agent.process.isRunning)
        // The tailer's counters and the host metrics arrive like any other metric.
        func lastValue(_ name: String, service: String) async throws -> Double? {
            let reply = try await TestHTTP.get(
                collector.url + "/api/v1/metrics?name=\(name)&service=\(service)", headers: ["Authorization": "Bearer \(collector.token)"])
            return (try? JSONDecoder().decode(QueryAPI.MetricPoints.self, from: Data(reply.body)))?.points.last?.value
        }
        var linesRead: Double?
        var cpu: Double?
        var watchedMemory: Double?
        let metricsDeadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < metricsDeadline {
            linesRead = try await lastValue("periscope.agent.tail.lines_read", service: "periscope-agent")
            cpu = try await lastValue("system.cpu.utilization", service: service + "-host")
            watchedMemory = try await lastValue("process.memory.usage", service: service + "-host")
            if (linesRead ?? 0) >= 9003, cpu != nil, watchedMemory != nil { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        print("tail self-telemetry: lines_read \(linesRead ?? -1); host cpu utilisation \(cpu ?? -1); watched process RSS \(Int(watchedMemory ?? -1) >> 20) MiB")
        #expect((linesRead ?? 0) >= 9003)
        #expect(cpu.map { (0...1).contains($0) } == true)
        #expect((watchedMemory ?? 0) > 0)
        await agent.process.stop()
        await collector.process.stop()
    }
}
