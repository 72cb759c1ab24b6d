import Foundation
import PeriscopeModel
import PeriscopeQueryAPI
import PeriscopeTesting
import Testing

/// A client we did not write — Python's opentelemetry-sdk with its OTLP/HTTP protobuf and
/// OTLP/gRPC exporters — through the real agent and straight to the collector, read back
/// through the real CLI and compared field by field.
@Suite("Python opentelemetry-sdk peer")
struct PythonPeerTests {
    enum Route: String, CaseIterable, Sendable {
        case httpThroughAgent, grpcThroughAgent, grpcToCollector
    }

    struct Sent: Decodable {
        var trace_id: String
        var root_span_id: String
        var child_span_id: String
        var base_ns: UInt64
    }

    @Test("every field the Python SDK sent is understood exactly", arguments: Route.allCases)
    func pythonTraceAndLogArriveExactly(route: Route) async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory)
        let agent = try await AgentProcess.start(in: directory, collector: collector)
        defer { Task { await agent.process.stop(); await collector.process.stop() } }

        let target: [String] = switch route {
        case .httpThroughAgent: ["--protocol", "http", "--endpoint", agent.url]
        case .grpcThroughAgent: ["--protocol", "grpc", "--endpoint", "127.0.0.1:\(try #require(agent.grpcPort))"]
        case .grpcToCollector: ["--protocol", "grpc", "--endpoint", "127.0.0.1:\(try #require(collector.grpcPort))", "--token", collector.token]
        }
        let peer = try await RunningProcess.run(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", BinaryLocation.packageRoot.appendingPathComponent("Tests/Peers/otel_peer.py").path,
        ] + target)
        try #require(peer.exitCode == 0, "python peer failed: \(peer.standardError)")
        let sent = try peer.decode(Sent.self)

        #expect(!peer.standardError.contains("Failed to export"), "\(peer.standardError)")
        let trace = try await Self.waitForTrace(sent.trace_id, spans: 2, collector: collector)
        #expect(trace.traceID.hex == sent.trace_id)
        #expect(trace.spans.count == 2)
        let root = try #require(trace.spans.first { $0.spanID.hex == sent.root_span_id })
        let child = try #require(trace.spans.first { $0.spanID.hex == sent.child_span_id })

        #expect(root.parentSpanID == nil)
        #expect(root.name == "GET /orders/{id}")
        #expect(root.kind == "server")
        #expect(root.service == "py-orders")
        #expect(root.startTimeUnixNano == sent.base_ns)
        #expect(root.endTimeUnixNano == sent.base_ns + 10_000_000)
        #expect(root.durationNanos == 10_000_000)
        #expect(root.status.code == "unset")
        #expect(root.attributes["http.request.method"] == .string("GET"))
        #expect(root.attributes["http.response.status_code"] == .int(200))
        #expect(root.attributes["cache.hit"] == .bool(true))
        #expect(root.attributes["sample.ratio"] == .double(0.25))
        #expect(root.attributes["tags"] == .array([.string("a"), .string("b")]))
        #expect(root.attributes["counts"] == .array([.int(1), .int(2), .int(3)]))
        #expect(root.resource["service.instance.id"] == .string("py-1"))
        #expect(root.resource["host.name"] == .string("peer-host"))
        #expect(root.resource["telemetry.sdk.language"] == .string("python"))

        #expect(child.parentSpanID?.hex == sent.root_span_id)
        #expect(child.name == "SELECT orders")
        #expect(child.kind == "client")
        #expect(child.startTimeUnixNano == sent.base_ns + 1_000_000)
        #expect(child.durationNanos == 2_500_000)
        #expect(child.status == QueryAPI.Status(code: "error", message: "connection reset"))
        #expect(child.attributes["db.system"] == .string("postgresql"))
        #expect(child.events == [QueryAPI.Event(timeUnixNano: sent.base_ns + 2_000_000, name: "retry", attributes: ["attempt": .int(2)])])
        #expect(child.links.count == 1)
        #expect(child.links.first?.traceID.hex == "0af7651916cd43dd8448eb211c80319c")
        #expect(child.links.first?.spanID.hex == "b7ad6b7169203331")
        #expect(child.links.first?.attributes["link.kind"] == .string("follows"))

        var logs = try await QueryCLI.json(QueryAPI.Logs.self, ["logs", "--trace", sent.trace_id], collector: collector)
        for _ in 0..<200 where logs.logs.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            logs = try await QueryCLI.json(QueryAPI.Logs.self, ["logs", "--trace", sent.trace_id], collector: collector)
        }
        #expect(logs.logs.count == 1)
        let log = try #require(logs.logs.first)
        #expect(log.body == .string("order lookup failed"))
        #expect(log.severityNumber == Severity.warn.rawValue)
        #expect(log.severityText == "WARN")
        #expect(log.service == "py-orders")
        #expect(log.traceID?.hex == sent.trace_id)
        #expect(log.spanID?.hex == sent.child_span_id)
        #expect(log.attributes["order.id"] == .string("o-42"))

        let points = try await Self.waitForMetric("py.orders.processed", collector: collector)
        #expect(points.count == 1)
        #expect(points.first?.value == 3)
        #expect(points.first?.kind == "sum")
        #expect(points.first?.attributes["order.kind"] == .string("online"))

        let waterfall = try await QueryCLI.run(["trace", sent.trace_id, "--color", "never"], collector: collector)
        #expect(waterfall.exitCode == 0)
        #expect(waterfall.standardOutput.contains("GET /orders/{id}"))
        #expect(waterfall.standardOutput.contains("SELECT orders"))
        #expect(waterfall.standardOutput.contains("py-orders"))
    }

    /// The trace once `spans` of it are stored (through the agent, shipping takes a moment).
    static func waitForTrace(_ id: String, spans: Int, collector: CollectorProcess) async throws -> QueryAPI.Trace {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            if let trace = try? await QueryCLI.json(QueryAPI.Trace.self, ["trace", id], collector: collector), trace.spans.count >= spans {
                return trace
            }
            guard ContinuousClock.now < deadline else { return try await QueryCLI.json(QueryAPI.Trace.self, ["trace", id], collector: collector) }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func waitForMetric(_ name: String, collector: CollectorProcess) async throws -> [QueryAPI.MetricPoint] {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let reply = try await TestHTTP.get(collector.url + "/api/v1/metrics?name=\(name)&service=py-orders",
                                               headers: ["Authorization": "Bearer \(collector.token)"])
            let points = try JSONDecoder().decode(QueryAPI.MetricPoints.self, from: Data(reply.body)).points
            if !points.isEmpty || ContinuousClock.now >= deadline { return points }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
