import Foundation
import PeriscopeQueryAPI
import PeriscopeTesting
import Testing

/// A Swift service instrumented with swift-otel — the other Swift OpenTelemetry SDK — and left
/// at its defaults (OTLP/HTTP protobuf; only the endpoint and service name come from the
/// standard environment) reaches the agent and shows up in the CLI.
@Suite("swift-otel peer")
struct SwiftOTelPeerTests {
    static let binary = BinaryLocation.packageRoot.appendingPathComponent("Tests/Peers/SwiftOTelService/.build/debug/swift-otel-service")

    @Test("a swift-otel service at its defaults: its trace and log are in the CLI")
    func swiftOTelAtDefaults() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path),
                     "build the peer first: swift build --package-path Tests/Peers/SwiftOTelService (make test does)")
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory)
        let agent = try await AgentProcess.start(in: directory, collector: collector)
        defer { Task { await agent.process.stop(); await collector.process.stop() } }

        let marker = "m\(UInt32.random(in: 1...UInt32.max))"
        let service = try await RunningProcess.run(Self.binary, [marker], environment: [
            "OTEL_SERVICE_NAME": "swift-otel-svc", "OTEL_EXPORTER_OTLP_ENDPOINT": agent.url,
        ])
        try #require(service.exitCode == 0, "swift-otel-service failed: \(service.standardError)")

        let traces = try await poll(for: .seconds(20)) {
            try await QueryCLI.json(QueryAPI.TraceList.self, ["traces", "--service", "swift-otel-svc"], collector: collector).traces
        } until: { $0.first?.spanCount == 2 }
        let summary = try #require(traces.first, "no trace of swift-otel-svc")
        #expect(traces.count == 1)
        #expect(summary.spanCount == 2)
        #expect(summary.rootName == "GET /swift-otel/{marker}")
        let trace = try await QueryCLI.json(QueryAPI.Trace.self, ["trace", summary.traceID.hex], collector: collector)
        let root = try #require(trace.spans.first { $0.parentSpanID == nil })
        #expect(root.kind == "server")
        #expect(root.attributes["swift_otel.marker"] == .string(marker))
        #expect(root.service == "swift-otel-svc")
        let child = try #require(trace.spans.first { $0.parentSpanID == root.spanID })
        #expect(child.name == "load \(marker)")

        var logs: [QueryAPI.Log] = []
        for _ in 0..<100 {
            logs = try await QueryCLI.json(QueryAPI.Logs.self, ["logs", "--service", "swift-otel-svc"], collector: collector).logs
            if !logs.isEmpty { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(logs.contains { $0.body == .string("swift-otel says \(marker)") }, "\(logs.map(\.body))")
    }
}
