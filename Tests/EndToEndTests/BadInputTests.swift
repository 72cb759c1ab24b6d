import Foundation
import PeriscopeCompression
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeTesting
import Testing

/// DESIGN §8 at both HTTP endpoints: every kind of bad body gets 400/413/415 with a message,
/// and the server keeps serving good requests afterwards.
@Suite("Bad input at the agent and the collector")
struct BadInputTests {
    /// A valid one-span request, to prove the server still serves after each bad one.
    static func validTraceRequest() -> [UInt8] {
        let span = Span(
            traceID: TraceID.random(), spanID: SpanID.random(), name: "ok",
            startTimeUnixNano: WallClock.nowUnixNano() - 1_000, endTimeUnixNano: WallClock.nowUnixNano())
        return OTLPEncoder.encode(.traces([ResourceSpans(resource: Resource(serviceName: "bad-input"), scopes: [ScopeSpans(spans: [span])])]))
    }

    struct Case: Sendable, CustomStringConvertible {
        var description: String
        var body: [UInt8]
        var headers: [String: String]
        var status: Int
        var messageFragment: String
    }

    static func cases() -> [Case] {
        let valid = validTraceRequest()
        let protobuf = ["Content-Type": "application/x-protobuf"]
        let json = ["Content-Type": "application/json"]
        let shortTraceID = Array(#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f","spanId":"0102030405060708","name":"s"}]}]}]}"#.utf8)
        let bomb = Zstd.compress([UInt8](repeating: 0, count: 4 << 20))
        return [
            Case(description: "truncated protobuf", body: Array(valid.prefix(valid.count - 7)), headers: protobuf, status: 400, messageFragment: "invalid protobuf"),
            Case(description: "invalid JSON", body: Array("{\"resourceSpans\": [".utf8), headers: json, status: 400, messageFragment: "JSON"),
            Case(description: "wrong content type", body: valid, headers: ["Content-Type": "text/plain"], status: 415, messageFragment: "Content-Type"),
            Case(description: "unknown content encoding", body: valid, headers: protobuf.merging(["Content-Encoding": "br"]) { $1 }, status: 415, messageFragment: "Content-Encoding"),
            Case(description: "trace ID of 15 bytes (JSON)", body: shortTraceID, headers: json, status: 400, messageFragment: "traceId must be 32 hex digits"),
            Case(description: "span ID of 3 bytes (protobuf)", body: protobufWithSpanIDLength(3), headers: protobuf, status: 400, messageFragment: "spanId must be 8"),
            Case(description: "body over the limit", body: [UInt8](repeating: 0x41, count: 300_000), headers: protobuf, status: 413, messageFragment: "exceeds"),
            Case(description: "zstd bomb over the decompressed limit", body: bomb, headers: protobuf.merging(["Content-Encoding": "zstd"]) { $1 }, status: 413, messageFragment: "decompressed"),
            Case(description: "corrupt gzip", body: [0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7], headers: protobuf.merging(["Content-Encoding": "gzip"]) { $1 }, status: 400, messageFragment: "gzip"),
        ]
    }

    /// A span whose span_id field holds `length` bytes, written at the protobuf wire level.
    static func protobufWithSpanIDLength(_ length: Int) -> [UInt8] {
        // Span: field 1 trace_id (16 bytes), field 2 span_id (`length` bytes), field 5 name "s".
        var span: [UInt8] = [0x0a, 16] + [UInt8](repeating: 7, count: 16)
        span += [0x12, UInt8(length)] + [UInt8](repeating: 9, count: length)
        span += [0x2a, 1, UInt8(ascii: "s")]
        let scopeSpans: [UInt8] = [0x12, UInt8(span.count)] + span
        let resourceSpans: [UInt8] = [0x12, UInt8(scopeSpans.count)] + scopeSpans
        return [0x0a, UInt8(resourceSpans.count)] + resourceSpans
    }

    @Test("collector: each bad body is refused with a message, good ones still succeed")
    func collectorRefusesBadInput() async throws {
        let directory = try TemporaryDirectory()
        let config = directory.file("collector.yaml")
        try "max_body_bytes: 262144\nmax_decompressed_bytes: 1048576\n".write(to: config, atomically: true, encoding: .utf8)
        let collector = try await CollectorProcess.start(in: directory, extraArguments: ["--config", config.path])
        defer { Task { await collector.process.stop() } }
        try await check(url: collector.url, auth: ["Authorization": "Bearer \(collector.token)"])

        let unauthorized = try await TestHTTP.post(collector.url + "/v1/traces", body: Self.validTraceRequest(), headers: ["Content-Type": "application/x-protobuf"])
        #expect(unauthorized.status == 401)
        let wrongToken = try await TestHTTP.post(collector.url + "/v1/traces", body: Self.validTraceRequest(), headers: [
            "Content-Type": "application/x-protobuf", "Authorization": "Bearer nope",
        ])
        #expect(wrongToken.status == 401)
        for path in ["/api/v1/traces", "/api/v1/logs", "/api/v1/services", "/api/v1/slos", "/api/v1/status"] {
            let refused = try await TestHTTP.get(collector.url + path, headers: ["Authorization": "Bearer wrong"])
            #expect(refused.status == 401, "\(path) without a valid token")
        }
        let status = try await TestHTTP.get(collector.url + "/api/v1/status", headers: ["Authorization": "Bearer \(collector.token)"])
        let counts = try JSONDecoder().decode([String: Int].self, from: Data(status.body))
        // Only the good requests of `check` were stored: one per bad case, none of the refused ones.
        #expect(counts["spans"] == Self.cases().count)
    }

    @Test("agent: each bad body is refused with a message, good ones still succeed")
    func agentRefusesBadInput() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory)
        let config = directory.file("agent.yaml")
        try "max_body_bytes: 262144\nmax_decompressed_bytes: 1048576\n".write(to: config, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(in: directory, collector: collector, extraArguments: ["--config", config.path])
        defer { Task { await agent.process.stop(); await collector.process.stop() } }
        try await check(url: agent.url, auth: [:])
    }

    private func check(url: String, auth: [String: String]) async throws {
        for badCase in Self.cases() {
            let reply = try await TestHTTP.post(url + "/v1/traces", body: badCase.body, headers: badCase.headers.merging(auth) { $1 })
            #expect(reply.status == badCase.status, "\(badCase): got \(reply.status) \(reply.text)")
            let format = OTLPFormat(contentType: reply.header("Content-Type")) ?? .json
            let message = OTLPDecoder.statusMessage(reply.body, format: format) ?? reply.text
            #expect(message.contains(badCase.messageFragment), "\(badCase): message '\(message)'")

            let good = try await TestHTTP.post(url + "/v1/traces", body: Self.validTraceRequest(), headers: [
                "Content-Type": "application/x-protobuf",
            ].merging(auth) { $1 })
            #expect(good.status == 200, "after \(badCase): \(good.status) \(good.text)")
        }
    }

    @Test("an address a server cannot listen on stops it at once with a sentence naming the flag, the address and why")
    func cannotListen() async throws {
        let directory = try TemporaryDirectory()
        // A port taken by another listener, and an address no interface of this host has (TEST-NET-1).
        let taken = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(taken) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(taken, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(bound == 0 && listen(taken, 1) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(taken, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let cases: [(binary: String, arguments: [String], expected: String)] = [
            ("periscope-agent", ["--otlp-listen", "192.0.2.1:0", "--otlp-grpc-listen", "off"], "--otlp-listen 192.0.2.1:0: cannot listen there"),
            ("periscope-agent", ["--otlp-listen", "127.0.0.1:\(port)", "--otlp-grpc-listen", "off"], "another process listens there"),
            ("periscope-agent", ["--otlp-listen", "127.0.0.1:0", "--otlp-grpc-listen", "127.0.0.1:\(port)"], "--otlp-grpc-listen 127.0.0.1:\(port)"),
            ("periscope-collector", ["--listen", "192.0.2.1:0", "--grpc-listen", "off", "--insecure-no-auth"], "--listen 192.0.2.1:0: cannot listen there"),
            ("periscope-collector", ["--listen", "127.0.0.1:\(port)", "--grpc-listen", "off", "--insecure-no-auth"], "another process listens there"),
        ]
        for (index, (binary, arguments, expected)) in cases.enumerated() {
            let process = try await RunningProcess.run(
                BinaryLocation.binary(binary), arguments + ["--data", directory.file("data-\(index)").path], timeout: .seconds(30))
            let status = process.exitCode
            #expect(status == 64, "\(binary) \(arguments): exit \(status)")
            #expect(process.standardError.contains(expected), "\(binary) \(arguments): \(process.standardError)")
        }
    }
}
