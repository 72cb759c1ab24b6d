import Foundation
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeTesting
import Synchronization
import Testing

/// Collector and agent under steady mixed traffic — OTLP spans and logs, and a tailed file
/// rotated by rename-and-create — long enough to push many times the queue's max_size through,
/// with `kill -9` of each every few minutes. `SOAK_SECONDS` sets the length (60 in `make test`,
/// 600 by default in `make soak`). It counts at the end: every acknowledged span stored exactly
/// once, every tailed line exactly once, OTLP log records at least once (a request whose answer
/// the agent's death swallowed is sent again, and only spans are de-duplicated by ID); no 429 or
/// 503 while the collector is up; memory, descriptors and queue files bounded.
@Suite("Soak")
struct SoakTests {
    static var seconds: Int { Int(ProcessInfo.processInfo.environment["SOAK_SECONDS"] ?? "") ?? 60 }
    static let queueMaxBytes = 128 << 10
    static let segmentBytes = 16 << 10
    /// Incompressible bytes a span brings to the queue at least: its 16-byte trace and 8-byte span ID.
    static let spanIDBytes = 24
    /// The longest the traffic runs past `seconds` to push 10× max_size through the queue.
    static let extraTime = Duration.seconds(90)
    static let senders = 4
    static let spansPerRequest = 200
    static let recordsPerRequest = 50

    /// What the traffic and chaos tasks share.
    struct Ledger {
        var agentURL = ""
        var spansAcknowledged = 0
        var logsAcknowledged = 0
        /// Log records sent again after a request whose answer was lost: may be stored twice.
        var logsAmbiguous = 0
        var requests = 0
        var refusals: [(status: Int, at: ContinuousClock.Instant)] = []
        /// When the collector was down, to the moment it answered again plus a drain allowance.
        var collectorDown: [ClosedRange<ContinuousClock.Instant>] = []
        var tailLines = 0
        var rotations = 0
        var agentKills = 0
        var collectorKills = 0
        var samples: [(process: String, pid: Int32, rssKiB: Int, descriptors: Int)] = []
        var maxQueueBytes = 0
    }

    /// Shared by the test and its traffic, writer and sampler tasks.
    final class Shared: Sendable {
        let ledger = Mutex(Ledger())
        let stop = Atomic<Bool>(false)
    }

    @Test("steady traffic, rotation and kill -9 of each part: nothing acknowledged lost or duplicated, nothing refused while healthy, resources flat")
    func soak() async throws {
        let duration = Duration.seconds(Self.seconds)
        let directory = try TemporaryDirectory("soak")
        let logs = directory.file("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let logPath = logs.appendingPathComponent("app.log").path
        let config = try TailTortureTests.agentConfig(directory, include: logPath, service: "soak-tail")
        let agentArguments = [
            "--config", config, "--queue-max-size", "\(Self.queueMaxBytes)", "--segment-size", "\(Self.segmentBytes)",
            "--batch-max-delay", "5ms", "--self-telemetry-interval", "off", "--host-metrics-interval", "off",
        ]
        var collector = try await CollectorProcess.start(in: directory)
        let collectorPort = collector.port
        var agent = try await AgentProcess.start(in: directory, collector: collector, extraArguments: agentArguments)
        let shared = Shared()
        shared.ledger.withLock { $0.agentURL = agent.url }
        let started = ContinuousClock.now

        let senders = (0..<Self.senders).map { worker in Task.detached { try await Self.sendTraffic(shared, worker: worker) } }
        let writer = Task.detached { await Self.writeLines(path: logPath, shared) }
        let sampler = Task.detached { [queue = directory.file("agent-data/queue").path] in
            while !shared.stop.load(ordering: .relaxed) {
                try? await Task.sleep(for: .seconds(2))
                Self.sample(shared, queueDirectory: queue)
            }
        }

        // Chaos: every eighth of the run, kill -9 the agent or the collector, in turn.
        var round = 0
        while ContinuousClock.now - started < duration {
            try await Task.sleep(for: min(duration / 8, duration - (ContinuousClock.now - started)))
            guard ContinuousClock.now - started < duration - .seconds(5) else { break }
            round += 1
            if round % 2 == 1 {
                await agent.process.kill9()
                try await Task.sleep(for: .milliseconds(500))
                agent = try await AgentProcess.start(in: directory, collector: collector, extraArguments: agentArguments)
                shared.ledger.withLock { $0.agentURL = agent.url; $0.agentKills += 1 }
            } else {
                let down = ContinuousClock.now
                await collector.process.kill9()
                try await Task.sleep(for: .seconds(2))
                collector = try await CollectorProcess.start(in: directory, port: collectorPort)
                // The agent's backoff may wait up to its cap, then drains what piled up.
                let healthyAgain = ContinuousClock.now + .seconds(45)
                shared.ledger.withLock { $0.collectorDown.append(down...healthyAgain); $0.collectorKills += 1 }
            }
        }
        // A slow machine sends less in the same time: keep the traffic (not the chaos) going until
        // 10× max_size has gone through the queue, for at most `extraTime` more.
        let enough = ContinuousClock.now + Self.extraTime
        while shared.ledger.withLock({ $0.spansAcknowledged * Self.spanIDBytes < 10 * Self.queueMaxBytes }) && ContinuousClock.now < enough {
            try await Task.sleep(for: .milliseconds(200))
        }
        shared.stop.store(true, ordering: .relaxed)
        let trafficSeconds = (ContinuousClock.now - started).components.seconds
        for sender in senders { try await sender.value }
        _ = await writer.value
        _ = await sampler.value

        // Everything acknowledged arrives.
        let final = shared.ledger.withLock { $0 }
        let expectedLogs = final.logsAcknowledged + final.tailLines
        _ = try await poll(every: .milliseconds(500), for: .seconds(120)) {
            try await HostileInputTests.stored(collector)
        } until: { ($0["spans"] ?? 0) >= final.spansAcknowledged && ($0["logs"] ?? 0) >= expectedLogs }
        try await Task.sleep(for: .seconds(2))
        let counts = try await HostileInputTests.stored(collector)
        Self.sample(shared, queueDirectory: directory.file("agent-data/queue").path)
        let samples = shared.ledger.withLock { $0.samples }
        let maxQueueBytes = shared.ledger.withLock { $0.maxQueueBytes }
        let refusedWhileHealthy = final.refusals.filter { refusal in !final.collectorDown.contains { $0.contains(refusal.at) } }
        let agentPeak = samples.filter { $0.process == "agent" }.map(\.rssKiB).max() ?? 0
        let collectorPeak = samples.filter { $0.process == "collector" }.map(\.rssKiB).max() ?? 0
        let descriptorPeak = samples.map(\.descriptors).max() ?? 0
        let queueFiles = try FileManager.default.contentsOfDirectory(atPath: directory.file("agent-data/queue").path).filter { $0.hasSuffix(".log") }.count
        print("""
            soak \(Self.seconds) s (traffic \(trafficSeconds) s): \(final.requests) OTLP requests, spans acknowledged \(final.spansAcknowledged) stored \(counts["spans"] ?? 0); \
            OTLP logs acknowledged \(final.logsAcknowledged) (+\(final.logsAmbiguous) resent) + tailed \(final.tailLines) lines in \(final.rotations) rotations, \
            logs stored \(counts["logs"] ?? 0); kill -9: agent ×\(final.agentKills), collector ×\(final.collectorKills); \
            refusals \(final.refusals.count) (\(refusedWhileHealthy.count) while healthy); peak RSS agent \(agentPeak / 1024) MiB, \
            collector \(collectorPeak / 1024) MiB; peak descriptors \(descriptorPeak); peak queue \(maxQueueBytes / 1024) KiB, \
            queue files at the end \(queueFiles); traffic through the queue ≥ \((final.spansAcknowledged * Self.spanIDBytes) / Self.queueMaxBytes)× max_size
            """)
        #expect(counts["spans"] == final.spansAcknowledged, "every acknowledged span exactly once")
        #expect((counts["logs"] ?? 0) >= expectedLogs && (counts["logs"] ?? 0) <= expectedLogs + final.logsAmbiguous)
        #expect(refusedWhileHealthy.isEmpty, "refused while the collector was up: \(refusedWhileHealthy.map(\.status))")
        #expect(final.spansAcknowledged * Self.spanIDBytes >= 10 * Self.queueMaxBytes, "at least 10× max_size of incompressible span IDs went through")
        #expect(final.agentKills >= 1 && final.collectorKills >= 1)
        #expect(agentPeak < 256 << 10 && collectorPeak < 768 << 10)
        #expect(descriptorPeak < 256)
        #expect(maxQueueBytes <= Self.queueMaxBytes + 3 * Self.segmentBytes, "queue files stay near max_size")
        #expect(queueFiles <= 3)
        for process in ["agent", "collector"] {
            // Flat: the last instance's late samples are not far above its early ones.
            guard let last = samples.last(where: { $0.process == process })?.pid else { continue }
            let lifetime = samples.filter { $0.process == process && $0.pid == last }.map(\.rssKiB)
            guard lifetime.count >= 8 else { continue }
            let early = lifetime[1..<(lifetime.count / 2)].max() ?? 0
            let late = lifetime[(lifetime.count / 2)...].max() ?? 0
            #expect(late <= early * 3 / 2 + 32 << 10, "\(process) RSS grew from \(early) KiB to \(late) KiB")
        }
        await agent.process.stop()
        await collector.process.stop()
    }

    /// One request of `spansPerRequest` spans and one of `recordsPerRequest` log records in turn;
    /// a request is sent until answered 200 (waiting out 429/503, following agent restarts).
    static func sendTraffic(_ shared: Shared, worker: Int) async throws {
        var sequence = 0
        while !shared.stop.load(ordering: .relaxed) {
            sequence += 1
            let isTraces = sequence % 2 == 0
            let now = WallClock.nowUnixNano()
            let body: [UInt8]
            let items: Int
            if isTraces {
                let traceID = TraceID.random()
                let spans = (0..<Self.spansPerRequest).map { index in
                    Span(traceID: traceID, spanID: SpanID.random(), name: "soak", kind: .server,
                         startTimeUnixNano: now - 1_000_000 + UInt64(index), endTimeUnixNano: now)
                }
                body = OTLPEncoder.encode(.traces([ResourceSpans(resource: Resource(serviceName: "soak"), scopes: [ScopeSpans(spans: spans)])]))
                items = spans.count
            } else {
                let records = (0..<Self.recordsPerRequest).map { index in
                    LogRecord(timeUnixNano: now + UInt64(index), body: .string("otlp-\(worker)-\(sequence)-\(index)"))
                }
                body = OTLPEncoder.encode(.logs([ResourceLogs(resource: Resource(serviceName: "soak"), scopes: [ScopeLogs(records: records)])]))
                items = records.count
            }
            var answeredOnce = false
            var lostAnswer = false
            while !answeredOnce {
                let url = shared.ledger.withLock { $0.agentURL }
                do {
                    let reply = try await TestHTTP.post(url + (isTraces ? "/v1/traces" : "/v1/logs"), body: body, headers: ["Content-Type": "application/x-protobuf"])
                    shared.ledger.withLock { $0.requests += 1 }
                    if reply.status == 200 {
                        answeredOnce = true
                    } else {
                        shared.ledger.withLock { $0.refusals.append((reply.status, ContinuousClock.now)) }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                } catch {
                    // The agent died under the request: it may or may not have queued it.
                    lostAnswer = true
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            shared.ledger.withLock {
                if isTraces { $0.spansAcknowledged += items } else { $0.logsAcknowledged += items }
                if lostAnswer && !isTraces { $0.logsAmbiguous += items }
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// About 200 JSON lines a second to the tailed file, renamed away and created again every 5 s.
    static func writeLines(path: String, _ shared: Shared) async {
        var fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        var written = 0
        var nextRotation = ContinuousClock.now + .seconds(5)
        while !shared.stop.load(ordering: .relaxed) {
            for _ in 0..<2 {
                written += 1
                _ = TailTortureTests.line(written, service: "soak-tail").withCString { write(fd, $0, strlen($0)) }
            }
            if ContinuousClock.now >= nextRotation {
                let rotations = shared.ledger.withLock { $0.rotations += 1; return $0.rotations }
                rename(path, path + ".\(rotations)")
                close(fd)
                fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                // Keep the directory small over a long run: the tailer is done with old rotations.
                if rotations > 3 { unlink(path + ".\(rotations - 3)") }
                nextRotation = ContinuousClock.now + .seconds(5)
            }
            shared.ledger.withLock { $0.tailLines = written }
            // Never block a cooperative thread: the test's own tasks need both of them.
            try? await Task.sleep(for: .milliseconds(10))
        }
        close(fd)
    }

    /// RSS and descriptors of the agent and collector now running, and the queue's size on disk.
    static func sample(_ shared: Shared, queueDirectory: String) {
        var found: [(String, Int32, Int, Int)] = []
        for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap(Int32.init) ?? [] {
            guard let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else { continue }
            let name = command.contains("periscope-agent") && command.contains("soak") ? "agent"
                : command.contains("periscope-collector") && command.contains("soak") ? "collector" : nil
            guard let name, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { continue }
            let rss = Int(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").dropFirst().first ?? "") ?? 0
            let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
            found.append((name, pid, rss, descriptors))
        }
        let queueBytes = ((try? FileManager.default.contentsOfDirectory(atPath: queueDirectory)) ?? []).reduce(0) { total, name in
            var info = stat()
            return total + (stat((queueDirectory as NSString).appendingPathComponent(name), &info) == 0 ? Int(info.st_size) : 0)
        }
        shared.ledger.withLock { ledger in
            ledger.samples += found.map { (process: $0.0, pid: $0.1, rssKiB: $0.2, descriptors: $0.3) }
            ledger.maxQueueBytes = max(ledger.maxQueueBytes, queueBytes)
        }
    }
}
