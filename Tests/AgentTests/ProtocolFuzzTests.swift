import Foundation
import PeriscopeModel
import PeriscopeOTLP
@testable import PeriscopeServer
import PeriscopeTesting
import Testing

/// The protocol fuzz checks (`ProtocolFuzzing`, also the libFuzzer target `ProtocolFuzz`) on the
/// committed seeds and on thousands of damaged copies of them: first bytes on either port and
/// gRPC messages of every signal. A broken invariant traps, which fails the run.
@Suite("Protocol first bytes and gRPC messages under damage")
struct ProtocolFuzzTests {
    /// Seeds in the fuzz target's layout: what the input is, how it is split, then the bytes.
    static func seeds() -> [(name: String, bytes: [UInt8])] {
        func frame(_ type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, _ payload: [UInt8]) -> [UInt8] {
            [UInt8(payload.count >> 16), UInt8(payload.count >> 8 & 0xFF), UInt8(payload.count & 0xFF), type, flags,
             UInt8(stream >> 24), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
        }
        let http2 = HTTP2Frames.preface + frame(4, [0, 3, 0, 0, 0, 100]) + frame(8, [0, 0, 0x10, 0])
            + frame(1, flags: 4, stream: 1, HTTP2Frames.headerBlock([(":method", "POST"), (":path", "/opentelemetry.proto.collector.logs.v1.LogsService/Export")]))
            + frame(0, flags: 1, stream: 1, [0, 0, 0, 0, 0])
        let http1 = Array("POST /v1/logs HTTP/1.1\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n".utf8)
        let span = Span(
            traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), name: "GET /", kind: .server,
            startTimeUnixNano: 1_800_000_000_000_000_000, endTimeUnixNano: 1_800_000_000_001_000_000)
        let traces = OTLPEncoder.encode(.traces([ResourceSpans(resource: Resource(serviceName: "s"), scopes: [ScopeSpans(scope: InstrumentationScope(name: "x"), spans: [span])])]))
        let logs = OTLPEncoder.encode(.logs([ResourceLogs(resource: Resource(serviceName: "s"), scopes: [
            ScopeLogs(scope: InstrumentationScope(name: "x"), records: [LogRecord(timeUnixNano: 1_800_000_000_000_000_000, severityNumber: .warn, body: .string("b"))]),
        ])]))
        return [
            ("grpc-port-http2", [0, 7] + http2), ("grpc-port-http1", [0, 3] + http1),
            ("http-port-http2", [1, 11] + http2), ("http-port-http1", [1, 63] + http1),
            ("message-traces", [2, 0] + traces), ("message-logs", [3, 0] + logs), ("message-metrics-empty", [4, 0]),
        ]
    }

    @Test("the seeds, and every seed committed under Fuzz/Corpus/ProtocolFuzz, pass")
    func seeds() {
        let committed = FuzzCorpus.seeds("ProtocolFuzz")
        #expect(committed.count >= Self.seeds().count, "seeds found under Fuzz/Corpus/ProtocolFuzz")
        if let root = ProcessInfo.processInfo.environment["PERISCOPE_FUZZ_SEEDS"] {
            let directory = URL(fileURLWithPath: root).appendingPathComponent("ProtocolFuzz")
            try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for (name, bytes) in Self.seeds() { try? Data(bytes).write(to: directory.appendingPathComponent(name)) }
        }
        for seed in committed + Self.seeds().map(\.bytes) { seed.withUnsafeBytes { ProtocolFuzzing.check($0) } }
    }

    @Test("damaged seeds and random bytes keep every invariant")
    func damaged() {
        var generator = SeededGenerator(seed: 44)
        let seeds = Self.seeds().map(\.bytes)
        for round in 0..<6_000 {
            let seed = seeds[round % seeds.count]
            var input = round % 10 == 9
                ? (0..<Int(generator.next() % 200)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                : FuzzCorpus.damage(seed, using: &generator)
            if input.count >= 2, round % 3 == 0 { input[1] = UInt8(truncatingIfNeeded: generator.next()) }
            input.withUnsafeBytes { ProtocolFuzzing.check($0) }
        }
    }
}
