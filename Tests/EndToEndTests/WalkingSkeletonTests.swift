import Foundation
import PeriscopeModel
import PeriscopeQueryAPI
import PeriscopeTesting
import Testing

/// One trace and its logs from an instrumented Swift service to the terminal: the example
/// service (checkout → inventory over HTTP, two processes) → real agent → real collector →
/// real CLI.
@Suite("Walking skeleton: example service to CLI")
struct WalkingSkeletonTests {
    static let requests = 8

    @Test("every span arrives once with its parentage, durations and attributes; logs are linked by trace ID")
    func exampleServiceThroughTheStack() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory)
        let agent = try await AgentProcess.start(in: directory, collector: collector)
        defer { Task { await agent.process.stop(); await collector.process.stop() } }

        let example = try RunningProcess(BinaryLocation.binary("periscope-example"), [
            "demo", "--agent", agent.url, "--requests", String(Self.requests),
        ])
        let status = try await example.waitForExit(timeout: .seconds(120))
        try #require(status == 0, "example failed: \(example.standardError)")
        let traceIDs = example.standardOutput.split(separator: "\n").filter { $0.hasPrefix("trace ") }.map { String($0.dropFirst(6)) }
        try #require(traceIDs.count == Self.requests)

        for (index, traceText) in traceIDs.enumerated() {
            let checkoutID = index + 1
            let trace = try await waitForTrace(traceText, spans: 5, collector: collector)
            let spansByName = Dictionary(grouping: trace.spans, by: \.name)
            #expect(trace.spans.count == 5, "trace \(traceText): \(trace.spans.map(\.name))")
            #expect(Set(trace.spans.map(\.spanID)).count == trace.spans.count, "each span once")

            let root = try #require(spansByName["POST /checkout"]?.first)
            let validate = try #require(spansByName["validate cart"]?.first)
            let client = try #require(spansByName["GET /inventory/{sku}"]?.first)
            let server = try #require(spansByName["GET /inventory/:sku"]?.first)
            let query = try #require(spansByName["db.query"]?.first)

            #expect(root.parentSpanID == nil)
            #expect(validate.parentSpanID == root.spanID)
            #expect(client.parentSpanID == root.spanID)
            #expect(server.parentSpanID == client.spanID, "context crossed the HTTP hop")
            #expect(query.parentSpanID == server.spanID)
            #expect([root, validate, client].allSatisfy { $0.service == "checkout" })
            #expect([server, query].allSatisfy { $0.service == "inventory" })
            #expect(root.kind == "server" && client.kind == "client" && server.kind == "server" && query.kind == "internal")

            // Children lie within their parents: durations are as the services measured them.
            for (child, parent) in [(validate, root), (client, root), (query, server)] {
                #expect(child.startTimeUnixNano >= parent.startTimeUnixNano)
                #expect(child.endTimeUnixNano <= parent.endTimeUnixNano)
            }
            #expect(root.durationNanos >= client.durationNanos)
            #expect(root.durationNanos == root.endTimeUnixNano - root.startTimeUnixNano)

            #expect(root.attributes["http.route"] == .string("/checkout"))
            #expect(root.attributes["checkout.id"] == .int(Int64(checkoutID)))
            #expect(root.attributes["cart.items"] == .int(Int64(1 + checkoutID % 4)))
            #expect(server.attributes["http.route"] == .string("/inventory/:sku"))
            #expect(query.attributes["db.system"] == .string("sqlite"))

            let broken = checkoutID % 7 == 0
            #expect(root.status.isError == broken, "checkout \(checkoutID)")
            #expect(server.status.isError == broken)
            #expect(server.attributes["http.response.status_code"] == .int(broken ? 500 : 200))

            let logs = try await QueryCLI.json(QueryAPI.Logs.self, ["logs", "--trace", traceText], collector: collector)
            let spanIDs = Set(trace.spans.map(\.spanID))
            #expect(logs.logs.count >= 3, "trace \(traceText) logs: \(logs.logs.map(\.body))")
            #expect(logs.logs.allSatisfy { $0.traceID?.hex == traceText })
            #expect(logs.logs.allSatisfy { $0.spanID.map(spanIDs.contains) == true }, "every log line points at a span of its trace")
            #expect(Set(logs.logs.map(\.service)) == ["checkout", "inventory"])
            #expect(logs.logs.map(\.timeUnixNano) == logs.logs.map(\.timeUnixNano).sorted())
            #expect(logs.logs.contains { $0.body == .string("checkout complete") })
        }

        let waterfall = try await QueryCLI.run(["trace", traceIDs[0], "--color", "never", "--width", "100"], collector: collector)
        #expect(waterfall.exitCode == 0)
        let lines = waterfall.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.first?.contains(traceIDs[0]) == true)
        for name in ["checkout: POST /checkout", "├─ checkout: validate cart", "└─ checkout: GET /inventory/{sku}", "└─ inventory: GET /inventory/:sku", "└─ inventory: db.query"] {
            #expect(lines.contains { $0.contains(name) }, "waterfall shows '\(name)':\n\(waterfall.standardOutput)")
        }
        let logText = try await QueryCLI.run(["logs", "--trace", traceIDs[0], "--color", "never"], collector: collector)
        #expect(logText.exitCode == 0)
        #expect(logText.standardOutput.contains("checkout complete"))
        #expect(logText.standardOutput.contains("trace=\(traceIDs[0].prefix(8))"))
    }

    /// The backend flushes on SIGTERM and the agent batches, so allow a moment.
    func waitForTrace(_ id: String, spans: Int, collector: CollectorProcess) async throws -> QueryAPI.Trace {
        let deadline = ContinuousClock.now + .seconds(15)
        while true {
            let result = try await QueryCLI.run(["trace", id, "--json"], collector: collector)
            if result.exitCode == 0, let trace = try? JSONDecoder().decode(QueryAPI.Trace.self, from: Data(result.standardOutput.utf8)),
               trace.spans.count >= spans || ContinuousClock.now > deadline {
                return trace
            }
            if ContinuousClock.now > deadline {
                throw RunningProcess.StartError(description: "trace \(id) not found: \(result.standardError)")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    @Test("CLI errors: one sentence, non-zero exit")
    func cliErrors() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory)
        defer { Task { await collector.process.stop() } }
        let unknown = try await QueryCLI.run(["trace", TraceID.random().hex], collector: collector)
        #expect(unknown.exitCode == 1)
        #expect(unknown.standardError.contains("no trace with ID"))
        let malformed = try await QueryCLI.run(["trace", "xyz"], collector: collector)
        #expect(malformed.exitCode != 0)
        #expect(malformed.standardError.contains("32 hex"))
        let badToken = try await QueryCLI.run(["trace", TraceID.random().hex, "--collector", collector.url], collector: nil, environment: ["PERISCOPE_TOKEN": "wrong"])
        #expect(badToken.exitCode == 1)
        #expect(badToken.standardError.contains("token"))
        let closedPort = FreePort.closed()
        defer { closedPort.release() }
        let unreachable = try await QueryCLI.run(["trace", TraceID.random().hex, "--collector", "http://127.0.0.1:\(closedPort.port)"], collector: nil)
        #expect(unreachable.exitCode == 1)
        #expect(unreachable.standardError.contains("cannot reach the collector"))
        for result in [unknown, malformed, badToken, unreachable] {
            #expect(result.standardError.split(separator: "\n").count == 1, "one sentence: \(result.standardError)")
        }
    }
}
