import Foundation
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeQueryAPI
import PeriscopeTesting
import Testing

/// OTLP/gRPC as clients we did not write see it (Python's grpcio and its OpenTelemetry
/// exporter): the status codes the OTLP specification asks for, nothing lost or stored twice
/// around a refusal, and back-pressure that makes an exporter wait instead of drop.
@Suite("OTLP/gRPC ingest")
struct GRPCIngestTests {
    struct Outcome: Decodable {
        var code: String
        var details: String
        var retry_delay_ms: Int?
        var response_hex: String
    }

    static let peers = BinaryLocation.packageRoot.appendingPathComponent("Tests/Peers")

    static func probe(_ target: String, _ message: [UInt8], signal: String = "logs", token: String? = nil, gzip: Bool = false) async throws -> Outcome {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("grpc-probe-\(UUID().uuidString)")
        try Data(message).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        var arguments = ["python3", peers.appendingPathComponent("grpc_probe.py").path, "--target", target, "--signal", signal,
                         "--file", file.path]
        if let token { arguments += ["--token", token] }
        if gzip { arguments.append("--gzip") }
        let process = try await RunningProcess.run(URL(fileURLWithPath: "/usr/bin/env"), arguments)
        try #require(process.exitCode == 0, "grpc_probe failed: \(process.standardError)")
        return try process.decode(Outcome.self)
    }

    /// One log record; `incompressible` bodies are random, so the queue's zstd cannot shrink them.
    static func logs(service: String, bodyBytes: Int = 16, incompressible: Bool = false) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let body = incompressible
            ? String((0..<bodyBytes).map { _ in Character(UnicodeScalar(UInt8.random(in: 33...126, using: &generator))) })
            : String(repeating: "x", count: bodyBytes)
        let record = LogRecord(timeUnixNano: WallClock.nowUnixNano(), severityNumber: .info, body: .string(body))
        return OTLPEncoder.encode(.logs([ResourceLogs(resource: Resource(serviceName: service), scopes: [
            ScopeLogs(scope: InstrumentationScope(name: "grpc-test"), records: [record]),
        ])]))
    }

    static func storedLogs(_ service: String, _ collector: CollectorProcess) async throws -> [QueryAPI.Log] {
        let reply = try await TestHTTP.get(collector.url + "/api/v1/logs?service=\(service)&limit=10000",
                                           headers: ["Authorization": "Bearer \(collector.token)"])
        return try JSONDecoder().decode(QueryAPI.Logs.self, from: Data(reply.body)).logs
    }

    @Test("the collector refuses a missing or wrong token, garbage and an oversized message with the right code, and stores a good request once")
    func refusals() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory, extraArguments: ["--max-decompressed-bytes", "64KiB"])
        defer { Task { await collector.process.stop() } }
        let target = "127.0.0.1:\(try #require(collector.grpcPort))"
        let good = Self.logs(service: "grpc-good")

        #expect(try await Self.probe(target, good).code == "UNAUTHENTICATED")
        #expect(try await Self.probe(target, good, token: "not-the-token").code == "UNAUTHENTICATED")
        let garbage = try await Self.probe(target, [0xff, 0xff, 0xff, 0xff, 0x0f], token: collector.token)
        #expect(garbage.code == "INVALID_ARGUMENT")
        #expect(!garbage.details.isEmpty, "the refusal says what was wrong")
        // grpc-swift's transport resets the stream of a message over the limit (compressed or
        // not) before it is read into memory: the client sees CANCELLED and nothing is stored.
        let oversized = try await Self.probe(target, Self.logs(service: "grpc-big", bodyBytes: 100_000), token: collector.token)
        #expect(oversized.code == "CANCELLED", "\(oversized)")
        let bomb = try await Self.probe(target, Self.logs(service: "grpc-bomb", bodyBytes: 1_000_000), token: collector.token, gzip: true)
        #expect(bomb.code == "CANCELLED", "a gzip bomb is cut at the limit; \(bomb)")

        let accepted = try await Self.probe(target, good, token: collector.token, gzip: true)
        #expect(accepted.code == "OK")
        #expect(try await Self.storedLogs("grpc-good", collector).count == 1)
        let big = try await Self.storedLogs("grpc-big", collector)
        let bombed = try await Self.storedLogs("grpc-bomb", collector)
        #expect(big.isEmpty && bombed.isEmpty)
        // Each protocol on the other's port gets an answer that says so.
        let http1 = try await TestHTTP.post("http://\(target)/v1/logs", body: good, headers: ["Content-Type": "application/x-protobuf"])
        #expect(http1.status == 400)
        #expect(String(decoding: http1.body, as: UTF8.self).contains("send OTLP/HTTP and queries to the collector's --listen address"))
        let grpcOnHTTP = try await Self.probe("127.0.0.1:\(collector.port)", good, token: collector.token)
        #expect(grpcOnHTTP.code == "UNIMPLEMENTED" && grpcOnHTTP.details.contains("--grpc-listen address (\(target))"), "\(grpcOnHTTP)")
        #expect(try await Self.probe(target, good, token: collector.token).code == "OK", "gRPC still served after the HTTP/1.1 client")
        #expect(try await Self.storedLogs("grpc-good", collector).count == 2)

        let health = try await TestHTTP.get(collector.url + "/healthz")
        #expect(health.status == 200, "still serving after every refusal")
    }

    @Test("a gRPC exporter pointed at an OTLP/HTTP port is told, in its status, which port takes gRPC; the server logs it once")
    func grpcOnHTTPPort() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory)
        defer { Task { await collector.process.stop() } }
        let agent = try await AgentProcess.start(in: directory, collector: collector)
        defer { Task { await agent.process.stop() } }
        for (http, grpc, flag) in [(agent.port, agent.grpcPort, "--otlp-grpc-listen"), (collector.port, collector.grpcPort, "--grpc-listen")] {
            let grpcPort = try #require(grpc)
            for _ in 0..<2 {
                let outcome = try await Self.probe("127.0.0.1:\(http)", Self.logs(service: "grpc-wrong-port"))
                #expect(outcome.code == "UNIMPLEMENTED")
                #expect(outcome.details.contains("send OTLP/gRPC to") && outcome.details.contains("\(flag) address (127.0.0.1:\(grpcPort))"),
                        "\(outcome.details)")
            }
        }
        // Both still serve OTLP/HTTP, and the gRPC port gRPC, after the wrong-port clients.
        let good = try await Self.probe("127.0.0.1:\(try #require(agent.grpcPort))", Self.logs(service: "grpc-right-port"))
        #expect(good.code == "OK")
        let health = try await TestHTTP.get(agent.url + "/healthz")
        #expect(health.status == 200)
        for process in [agent.process, collector.process] {
            let warnings = process.standardError.components(separatedBy: "\n").filter { $0.contains("HTTP/2 connection from") }
            #expect(warnings.count == 1, "two wrong-port clients, one warning a minute: \(warnings)")
            #expect(warnings.first?.contains("on the OTLP/HTTP port, probably an OTLP/gRPC exporter") == true)
        }
    }

    @Test("a full agent queue answers RESOURCE_EXHAUSTED with RetryInfo; Python's exporter backs off and delivers every record once the collector is back")
    func backPressure() async throws {
        let directory = try TemporaryDirectory()
        // The collector comes back on the same port (`FreePort`: no other test's process takes it meanwhile).
        let first = try await CollectorProcess.start(in: directory)
        let port = first.port
        await first.process.stop()
        let config = directory.file("agent.yaml")
        try "self_telemetry_interval: off\nhost_metrics_interval: off\nqueue:\n  max_size: 96KiB\n  segment_size: 16KiB\n"
            .write(to: config, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(in: directory, collector: first, extraArguments: ["--config", config.path])
        defer { Task { await agent.process.stop() } }
        let target = "127.0.0.1:\(try #require(agent.grpcPort))"

        // Fill the queue while the collector is down.
        var filled = 0
        var refusal: Outcome?
        for _ in 0..<100 {
            let outcome = try await Self.probe(target, Self.logs(service: "grpc-filler", bodyBytes: 8_000, incompressible: true))
            if outcome.code == "OK" { filled += 1 } else { refusal = outcome; break }
        }
        let full = try #require(refusal, "the queue never filled")
        #expect(full.code == "RESOURCE_EXHAUSTED")
        #expect((full.retry_delay_ms ?? 0) >= 1_000, "a RetryInfo tells the client when to come back")
        #expect(filled > 0)

        // An exporter sends while the queue is full; the collector comes back once it was refused
        // (a fixed pause was not enough: a loaded machine once started Python after it).
        let burst = try RunningProcess(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", Self.peers.appendingPathComponent("grpc_log_burst.py").path, "--target", target, "--count", "20",
            "--service", "grpc-burst", "--timeout", "90", "--body-bytes", "8000",
        ], outputDirectory: directory.url)
        let refusedBy = ContinuousClock.now + .seconds(60)
        while !burst.standardError.contains("StatusCode.RESOURCE_EXHAUSTED encountered"), burst.isRunning, ContinuousClock.now < refusedBy {
            try await Task.sleep(for: .milliseconds(50))
        }
        let collector = try await CollectorProcess.start(in: directory, port: port)
        defer { Task { await collector.process.stop() } }
        let status = try await burst.waitForExit(timeout: .seconds(180))
        try #require(status == 0, "burst failed: \(burst.standardError)")
        #expect(burst.standardError.contains("StatusCode.RESOURCE_EXHAUSTED encountered"), "the exporter was pushed back and retried")
        #expect(burst.standardOutput.contains("\"succeeded\": 20, \"failed\": 0"), "\(burst.standardOutput) \(burst.standardError.suffix(1500))")

        let (burstRecords, fillerRecords) = try await poll(for: .seconds(30)) {
            (try await Self.storedLogs("grpc-burst", collector), try await Self.storedLogs("grpc-filler", collector))
        } until: { $0.0.count >= 20 && $0.1.count >= filled }
        #expect(burstRecords.count == 20, "every record the exporter sent, once")
        #expect(Set(burstRecords.map(\.body)).count == 20)
        #expect(fillerRecords.count == filled, "every acknowledged filler, once")
    }

    struct SteadyCounts: Decodable {
        var ok: Int
        var refused: [String: Int]
        var refused_with_retry_info: Int
        var failed: Int
        var errors: [String]
    }

    @Test("HTTP and gRPC senders past the shared max_concurrent_requests: both are pushed back (503 + Retry-After, RESOURCE_EXHAUSTED + RetryInfo), every record stored once, places come back")
    func sharedConcurrencyLimit() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory)
        defer { Task { await collector.process.stop() } }
        let agent = try await AgentProcess.start(in: directory, collector: collector, extraArguments: [
            "--max-concurrent-requests", "2", "--self-telemetry-interval", "off", "--host-metrics-interval", "off",
        ])
        defer { Task { await agent.process.stop() } }
        let target = "127.0.0.1:\(try #require(agent.grpcPort))"
        let requests = 120
        // Three times as many by gRPC, so that its senders are still at it while the HTTP ones
        // run: with 120 each, gRPC could finish while most HTTP requests were still to come (5
        // HTTP 503s in one CI run, 25-43 here; with 360, 11-44 in three CI runs, 49-116 here with
        // four busy loops beside it). Twelve gRPC threads instead of six once stored one gRPC
        // record twice in about half of the runs under such load: refusals answered mid-message
        // made grpcio reset streams until the connection was closed as an attack and grpcio sent
        // calls again (`refusalsKeepTheConnection`); since the fix twelve passed 3 of 3 so.
        let grpcRequests = 3 * requests

        // Six gRPC threads and eight HTTP tasks at once, each request retried until answered OK.
        let grpc = try RunningProcess(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", Self.peers.appendingPathComponent("grpc_steady.py").path, "--target", target,
            "--service", "steady-grpc", "--requests", "\(grpcRequests)", "--threads", "6", "--timeout", "300",
        ])
        // The HTTP senders start once the gRPC ones are under way, so the two overlap: alone, a
        // fast agent could answer eight HTTP senders without ever having more than two in hand.
        _ = try await grpc.waitForLine(containing: "sending", timeout: .seconds(60))
        // Per HTTP task: 503s, refusals without Retry-After, any other status.
        let http = try await withThrowingTaskGroup(of: (count: Int, withoutRetryAfter: Int, other: [Int]).self) { group in
            for worker in 0..<8 {
                let url = agent.url
                group.addTask {
                    var refusals = (count: 0, withoutRetryAfter: 0, other: [Int]())
                    for number in stride(from: worker, to: requests, by: 8) {
                        let body = Self.logs(service: "steady-http", bodyBytes: 32_000, incompressible: true)
                        var answered = false
                        for _ in 0..<2_000 where !answered {
                            let reply = try await TestHTTP.post(url + "/v1/logs", body: body, headers: ["Content-Type": "application/x-protobuf"])
                            if reply.status == 200 {
                                answered = true
                                continue
                            }
                            if reply.status == 503 { refusals.count += 1 } else { refusals.other.append(reply.status) }
                            if !reply.headers.contains(where: { $0.0.lowercased() == "retry-after" }) { refusals.withoutRetryAfter += 1 }
                            try await Task.sleep(for: .milliseconds(50))
                        }
                        try #require(answered, "HTTP request \(number) was never accepted")
                    }
                    return refusals
                }
            }
            var total = (count: 0, withoutRetryAfter: 0, other: [Int]())
            for try await part in group {
                total.count += part.count
                total.withoutRetryAfter += part.withoutRetryAfter
                total.other += part.other
            }
            return total
        }
        let status = try await grpc.waitForExit(timeout: .seconds(330))
        try #require(status == 0, "grpc_steady failed: \(grpc.standardError)")
        let summary = try #require(grpc.standardOutput.split(separator: "\n").last, "grpc_steady printed no counts")
        let counts = try JSONDecoder().decode(SteadyCounts.self, from: Data(summary.utf8))
        print("shared limit 2: HTTP 503 ×\(http.count), gRPC refusals \(counts.refused) (\(counts.refused_with_retry_info) with RetryInfo), gRPC ok \(counts.ok)")

        #expect(counts.ok == grpcRequests && counts.failed == 0, "\(counts.errors.prefix(5))")
        #expect(http.other.isEmpty, "only 503 for a full house: \(http.other.prefix(5))")
        #expect(http.count > 0, "the HTTP senders crossed the limit")
        #expect(http.withoutRetryAfter == 0)
        #expect((counts.refused["RESOURCE_EXHAUSTED"] ?? 0) > 0, "the gRPC senders crossed the same limit: \(counts.refused)")
        #expect(counts.refused_with_retry_info == counts.refused.values.reduce(0, +), "every gRPC refusal says when to retry")

        // Every record once, by service.
        _ = try await poll(for: .seconds(60)) {
            (try await Self.storedLogs("steady-http", collector), try await Self.storedLogs("steady-grpc", collector))
        } until: { $0.0.count >= requests && $0.1.count >= grpcRequests }
        // A second later, to see that nothing arrives twice.
        try await Task.sleep(for: .seconds(1))
        let httpRecords = try await Self.storedLogs("steady-http", collector)
        let grpcRecords = try await Self.storedLogs("steady-grpc", collector)
        #expect(httpRecords.count == requests && Set(httpRecords.map(\.body)).count == requests,
                "HTTP: \(httpRecords.count) stored, \(Set(httpRecords.map(\.body)).count) distinct")
        let grpcNumbers = grpcRecords.compactMap { $0.body.text.split(separator: ":").first.flatMap { Int($0) } }
        let twice = Dictionary(grouping: grpcNumbers, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        #expect(grpcRecords.count == grpcRequests && Set(grpcNumbers) == Set(0..<grpcRequests),
                "gRPC: \(grpcRecords.count) stored, \(Set(grpcNumbers).count) distinct, stored more than once: \(twice.prefix(10))")

        // The places came back: one more of each is accepted at once.
        let last = try await TestHTTP.post(agent.url + "/v1/logs", body: Self.logs(service: "steady-after"), headers: ["Content-Type": "application/x-protobuf"])
        #expect(last.status == 200)
        #expect(try await Self.probe(target, Self.logs(service: "steady-after")).code == "OK")
    }

    struct RefusalCounts: Decodable {
        var codes: [String: Int]
        var with_retry_info: Int
        var states_after_ready: [String]
        var accepted_after: Bool
        var errors: [String]
    }

    /// Runs `grpc_refusals.py` against `agent` and decodes its counts.
    static func refusals(_ agent: AgentProcess, requests: Int, threads: Int) async throws -> (RefusalCounts, standardError: String) {
        let process = try await RunningProcess.run(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", peers.appendingPathComponent("grpc_refusals.py").path,
            "--target", "127.0.0.1:\(try #require(agent.grpcPort))", "--http", "127.0.0.1:\(agent.port)",
            "--requests", "\(requests)", "--threads", "\(threads)", "--body-bytes", "\(1 << 20)",
        ], timeout: .seconds(180))
        try #require(process.exitCode == 0, "grpc_refusals failed: \(process.standardError.suffix(2000))")
        let summary = try #require(process.standardOutput.split(separator: "\n").last, "grpc_refusals printed no counts")
        return (try JSONDecoder().decode(RefusalCounts.self, from: Data(summary.utf8)), process.standardError)
    }

    @Test("300 refused exports of 1 MiB on one grpcio connection: each is told RESOURCE_EXHAUSTED with RetryInfo, and the connection is never closed as an attack (which made grpcio resend calls already stored); past the bound on refusals read at once, such a close is named in a warning")
    func refusalsKeepTheConnection() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory)
        defer { Task { await collector.process.stop() } }
        let agent = try await AgentProcess.start(in: directory, collector: collector, extraArguments: [
            "--max-concurrent-requests", "1", "--self-telemetry-interval", "off", "--host-metrics-interval", "off",
        ])
        defer { Task { await agent.process.stop() } }
        let requests = 300
        // An answer before the client has sent its whole message makes grpcio reset the stream;
        // past 200 resets in 30 s the HTTP/2 server closed the connection with GOAWAY
        // ENHANCE_YOUR_CALM and last stream 0, the calls in flight failed UNAVAILABLE or were sent
        // again. 1 MiB is more than a stream window, so an early answer always comes mid-message.
        // Four threads: within the four refusals per place that are read before their answer.
        let (counts, standardError) = try await Self.refusals(agent, requests: requests, threads: 4)

        #expect(counts.errors.isEmpty, "\(counts.errors)")
        #expect(counts.codes == ["RESOURCE_EXHAUSTED": requests], "every call refused, none failed with the connection: \(counts.codes)")
        #expect(counts.with_retry_info == requests)
        #expect(counts.states_after_ready.isEmpty, "the channel left READY: \(counts.states_after_ready)")
        #expect(!standardError.lowercased().contains("goaway"), "\(standardError.suffix(1000))")
        #expect(counts.accepted_after, "the place came back once the held request was dropped")

        let after = try await poll(for: .seconds(30)) { try await Self.storedLogs("grpc-after-refusals", collector) } until: { !$0.isEmpty }
        try await Task.sleep(for: .seconds(1))
        #expect(try await Self.storedLogs("grpc-after-refusals", collector).count == 1, "stored once: \(after.count)")
        #expect(try await Self.storedLogs("grpc-refused", collector).isEmpty, "no refused record is stored")
        #expect(!agent.process.standardError.contains("closed the OTLP/gRPC connection"))

        // Sixteen threads: twelve refusals at once are answered before their messages are read,
        // grpcio resets each, and the connection is closed; the agent says so, and why.
        let (crowded, _) = try await Self.refusals(agent, requests: 2 * requests, threads: 16)
        #expect(crowded.accepted_after)
        let warning = try await poll(for: .seconds(10)) { agent.process.standardError } until: { $0.contains("closed the OTLP/gRPC connection") }
        #expect(warning.contains("as an attack: the client reset more than 200 streams in 30 s"), "\(warning.suffix(1000))")
        #expect(try await Self.storedLogs("grpc-refused", collector).isEmpty, "no refused record is stored")
    }
}
