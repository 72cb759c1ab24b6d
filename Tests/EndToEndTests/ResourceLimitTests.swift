import Foundation
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeQueryAPI
import PeriscopeTesting
import Testing

/// The real agent under operating-system limits (`prlimit`): too few descriptors for the files
/// it is asked to follow, and a file size limit below its queue's segment size (what a full
/// disk does to the segment being written). Nothing may wedge, crash or be lost.
@Suite("Resource limits", .serialized)
struct ResourceLimitTests {

    /// Descriptors the process has open now.
    static func openDescriptors(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    @Test("300 files with 96 descriptors: the agent follows them in turns, keeps answering OTLP, and stores every line once")
    func moreFilesThanDescriptors() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory)
        defer { Task { await collector.process.stop() } }
        let logs = directory.file("logs").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let files = 300
        var seq = 0
        var expected = 0
        func append(_ file: Int, lines: Int) throws {
            var text = ""
            for _ in 0..<lines {
                text += TailTortureTests.line(seq, service: "many-files")
                seq += 1
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(logs)/f\(file).log"))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(text.utf8))
            try handle.close()
            expected += lines
        }
        for file in 0..<files {
            #expect(FileManager.default.createFile(atPath: "\(logs)/f\(file).log", contents: nil))
            try append(file, lines: 3)
        }
        let config = try TailTortureTests.agentConfig(directory, include: "\(logs)/*.log", service: "many-files")
        let agent = try await AgentProcess.start(in: directory, collector: collector, extraArguments: ["--config", config], limits: ["--nofile=96"])
        defer { Task { await agent.process.stop() } }

        // While it works through them: more lines in a third of the files, new files, and OTLP requests.
        var accepted = 0
        var mostDescriptors = 0
        for round in 0..<10 {
            for file in stride(from: round % 3, to: files, by: 3) { try append(file, lines: 1) }
            var text = ""
            for _ in 0..<2 {
                text += TailTortureTests.line(seq, service: "many-files")
                seq += 1
            }
            try Data(text.utf8).write(to: URL(fileURLWithPath: "\(logs)/new\(round).log"))
            expected += 2
            let reply = try await TestHTTP.post(
                agent.url + "/v1/logs", body: GRPCIngestTests.logs(service: "many-files-otlp"), headers: ["Content-Type": "application/x-protobuf"],
                timeout: .seconds(10))
            if reply.status == 200 { accepted += 1 }
            mostDescriptors = max(mostDescriptors, Self.openDescriptors(agent.process.processID))
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(accepted == 10, "the OTLP receiver keeps its descriptors: \(accepted) of 10 requests accepted")

        let stored = try await TailTortureTests.waitForRecords(collector, service: "many-files", expected: expected, timeout: .seconds(120))
        let counts = TailTortureTests.tally(stored)
        let lost = (0..<seq).filter { counts[$0] == nil }
        let duplicated = counts.filter { $0.value > 1 }.map(\.key).sorted()
        print("more files than descriptors: \(expected) lines written, \(stored.count) stored, lost \(lost.count), duplicated \(duplicated.count); most descriptors open \(mostDescriptors)")
        #expect(lost.isEmpty, "lost \(lost.count), e.g. \(lost.prefix(10))")
        #expect(duplicated.isEmpty, "duplicated \(duplicated.prefix(10))")
        #expect(stored.count == expected)
        #expect(mostDescriptors > 0 && mostDescriptors <= 96)
        #expect(agent.process.isRunning, "the agent is still up: \(agent.process.standardError.suffix(2000))")
    }

    @Test("a file size limit of 256 KiB under a 16 MiB segment: delivered segments make room, so steady traffic is refused only briefly and every record is stored once")
    func fileSizeLimitBelowSegment() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory)
        defer { Task { await collector.process.stop() } }
        let agent = try await AgentProcess.start(in: directory, collector: collector, limits: ["--fsize=262144"])
        defer { Task { await agent.process.stop() } }

        // 200 requests of 3 KiB of random text (the queue's zstd cannot shrink them): about 600 KiB,
        // more than two segments' worth under the limit. A refused request is sent again.
        let requests = 200
        var refusals = 0
        let deadline = ContinuousClock.now + .seconds(120)
        for index in 0..<requests {
            let body = GRPCIngestTests.logs(service: "fsize-\(index)", bodyBytes: 3_000, incompressible: true)
            while true {
                let reply = try await TestHTTP.post(agent.url + "/v1/logs", body: body, headers: ["Content-Type": "application/x-protobuf"])
                if reply.status == 200 { break }
                #expect(reply.status == 503 || reply.status == 429, "\(reply.status) \(reply.text)")
                refusals += 1
                try #require(ContinuousClock.now < deadline, "request \(index) still refused after 120 s (\(refusals) refusals): the queue wedged")
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        var stored = 0
        let waitUntil = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < waitUntil {
            let reply = try await TestHTTP.get(collector.url + "/api/v1/status", headers: ["Authorization": "Bearer \(collector.token)"])
            let status = try JSONDecoder().decode([String: Int].self, from: Data(reply.body))
            stored = status["logs"] ?? 0
            if stored >= requests { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        print("file size limit: \(requests) requests accepted after \(refusals) refusals; \(stored) records stored")
        #expect(stored == requests, "every accepted record stored once: \(stored) of \(requests)")
        #expect(agent.process.isRunning, "a write past the limit is an error, not SIGXFSZ: \(agent.process.standardError.suffix(2000))")
    }

    @Test("a collector whose day file reaches a file size limit (a full disk): ingest answers 503 saying it cannot write to its disk, every question answers 200 or that same 503, and it keeps running")
    func collectorDiskFull() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory, limits: ["--fsize=3145728"])
        defer { Task { await collector.process.stop() } }
        let auth = ["Authorization": "Bearer \(collector.token)"]
        // A server span first, so that signals have rollups to merge; then logs of random text until the file is full.
        let span = Span(
            traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), name: "GET /full", kind: .server,
            startTimeUnixNano: WallClock.nowUnixNano() - 1_000_000, endTimeUnixNano: WallClock.nowUnixNano())
        let spans = OTLPEncoder.encode(.traces([ResourceSpans(resource: Resource(serviceName: "full"), scopes: [ScopeSpans(scope: InstrumentationScope(name: "t"), spans: [span])])]))
        #expect(try await TestHTTP.post(collector.url + "/v1/traces", body: spans, headers: auth.merging(["Content-Type": "application/x-protobuf"]) { $1 }).status == 200)
        var refusal: TestHTTP.Reply?
        for index in 0..<400 {
            let reply = try await TestHTTP.post(
                collector.url + "/v1/logs", body: GRPCIngestTests.logs(service: "full-\(index)", bodyBytes: 60_000, incompressible: true),
                headers: auth.merging(["Content-Type": "application/x-protobuf"]) { $1 })
            if reply.status != 200 {
                refusal = reply
                break
            }
        }
        let refused = try #require(refusal, "400 requests of 60 KB fit under a 3 MiB file size limit?")
        #expect(refused.status == 503, "\(refused.status) \(refused.text)")
        #expect(refused.text.contains("cannot write to its disk"), "\(refused.text)")
        #expect(refused.header("Retry-After") != nil)

        try await Task.sleep(for: .seconds(2))  // a rollup flush or two fails meanwhile
        for path in ["/api/v1/signals?by=service", "/api/v1/slos", "/api/v1/logs?service=full-0", "/api/v1/traces/00000000000000010000000000000002", "/api/v1/services"] {
            let reply = try await TestHTTP.get(collector.url + path, headers: auth)
            let fullAnswer = reply.status == 503 && reply.text.contains("cannot write to its disk")
            #expect(reply.status == 200 || fullAnswer, "\(path): \(reply.status) \(reply.text)")
        }
        #expect(collector.process.isRunning, "\(collector.process.standardError.suffix(2000))")
        let errorLines = collector.process.standardError.split(separator: "\n").filter { $0.contains("cannot write to its disk") || $0.contains("SQLite error") }
        #expect(errorLines.count < 20, "a full disk is logged once a minute per kind, not per request: \(errorLines.count) lines")
    }
}
