import Foundation
import PeriscopeQueryAPI
import PeriscopeTesting
import Testing

/// The SDK against the real agent and collector: the example service's two processes
/// (checkout → inventory over HTTP) instrumented only through the standard facades and the
/// Periscope Hummingbird / AsyncHTTPClient helpers.
@Suite("SDK end to end")
struct SDKEndToEndTests {
    // MARK: Helpers

    struct Stack {
        let directory: TemporaryDirectory
        let collector: CollectorProcess
        let agent: AgentProcess

        static func start() async throws -> Stack {
            let directory = try TemporaryDirectory("periscope-sdk-e2e")
            let collector = try await CollectorProcess.start(in: directory)
            let agent = try await AgentProcess.start(in: directory, collector: collector)
            return Stack(directory: directory, collector: collector, agent: agent)
        }

        func stop() async {
            await agent.process.stop()
            await collector.process.stop()
        }

        var auth: [String: String] { ["Authorization": "Bearer \(collector.token)"] }

        func get<Document: Decodable>(_ type: Document.Type, _ pathAndQuery: String) async throws -> Document {
            let reply = try await TestHTTP.get(collector.url + pathAndQuery, headers: auth)
            guard reply.status == 200 else {
                throw RunningProcess.StartError(description: "GET \(pathAndQuery): \(reply.status) \(reply.text)")
            }
            return try JSONDecoder().decode(Document.self, from: Data(reply.body))
        }

        /// The trace once it holds `spans` spans (or whatever arrived by the deadline); `nil` if none.
        func trace(_ id: String, spans: Int, timeout: Duration = .seconds(20)) async throws -> QueryAPI.Trace? {
            let deadline = ContinuousClock.now + timeout
            while true {
                let reply = try await TestHTTP.get(collector.url + "/api/v1/traces/\(id)", headers: auth)
                let trace = reply.status == 200 ? try? JSONDecoder().decode(QueryAPI.Trace.self, from: Data(reply.body)) : nil
                if let trace, trace.spans.count >= spans { return trace }
                if ContinuousClock.now > deadline { return trace }
                try await Task.sleep(for: .milliseconds(200))
            }
        }

        /// Waits until `condition` holds for the logs of `query`, returning the last answer.
        func logs(_ query: String, timeout: Duration = .seconds(20), until condition: ([QueryAPI.Log]) -> Bool) async throws -> [QueryAPI.Log] {
            let deadline = ContinuousClock.now + timeout
            while true {
                let logs = try await get(QueryAPI.Logs.self, "/api/v1/logs?\(query)&limit=1000").logs
                if condition(logs) || ContinuousClock.now > deadline { return logs }
                try await Task.sleep(for: .milliseconds(200))
            }
        }

        func status() async throws -> [String: Int] {
            try await get([String: Int].self, "/api/v1/status")
        }
    }

    /// A finished `periscope-example demo`: the trace IDs it printed, and its standard error
    /// (each process's export summary, for failure messages).
    struct DemoRun {
        var traceIDs: [String]
        var standardError: String
    }

    /// Runs `periscope-example demo` to completion.
    func runDemo(agent: AgentProcess, requests: Int, extra: [String] = []) async throws -> DemoRun {
        let example = try RunningProcess(BinaryLocation.binary("periscope-example"), [
            "demo", "--agent", agent.url, "--requests", String(requests),
        ] + extra)
        let status = try await example.waitForExit(timeout: .seconds(120))
        try #require(status == 0, "demo failed: \(example.standardError)")
        let ids = example.standardOutput.split(separator: "\n").filter { $0.hasPrefix("trace ") }.map { String($0.dropFirst(6)) }
        try #require(ids.count == requests, "demo output: \(example.standardOutput)")
        // Each of the two processes says what its SDK exported, dropped and failed to deliver.
        let summaries = example.standardError.split(separator: "\n").filter { $0.contains(": exported ") }
        try #require(summaries.count == 2, "export summaries of checkout and inventory: \(example.standardError)")
        return DemoRun(traceIDs: ids, standardError: summaries.joined(separator: "\n"))
    }

    // MARK: Tests

    @Test("one trace per request with the right parentage, one correlation ID across both services' spans and logs, and the checkout metrics")
    func twoProcessRequest() async throws {
        let stack = try await Stack.start()
        defer { Task { await stack.stop() } }
        let requests = 5
        let demo = try await runDemo(agent: stack.agent, requests: requests)
        let traceIDs = demo.traceIDs

        var correlationIDs: [String] = []
        for id in traceIDs {
            let trace = try #require(try await stack.trace(id, spans: 5), "trace \(id) stored")
            #expect(trace.spans.count == 5, "\(trace.spans.map(\.name))")
            #expect(Set(trace.spans.map(\.traceID.hex)) == [id])
            let byName = Dictionary(grouping: trace.spans, by: \.name).compactMapValues(\.first)
            let root = try #require(byName["POST /checkout"])
            let client = try #require(byName["GET /inventory/{sku}"])
            let server = try #require(byName["GET /inventory/:sku"])
            let query = try #require(byName["db.query"])
            #expect(root.parentSpanID == nil)
            #expect(client.parentSpanID == root.spanID && client.kind == "client")
            #expect(server.parentSpanID == client.spanID && server.kind == "server", "the server span is the middleware's, under the client span")
            #expect(query.parentSpanID == server.spanID)
            #expect(server.attributes["http.route"] == .string("/inventory/:sku"))
            #expect(server.attributes["http.request.method"] == .string("GET"))
            #expect(server.attributes["url.path"]?.text.hasPrefix("/inventory/") == true)
            #expect(server.attributes["http.response.status_code"] != nil)
            #expect(client.attributes["server.address"] == .string("127.0.0.1"))

            // One correlation ID on every span of the request, in both services.
            let stamped = Set(trace.spans.compactMap { $0.attributes["correlation_id"]?.text })
            #expect(stamped.count == 1, "spans of \(id) carry \(stamped)")
            #expect(trace.spans.allSatisfy { $0.attributes["correlation_id"] != nil }, "every span stamped")
            let correlationID = try #require(stamped.first)
            correlationIDs.append(correlationID)

            // … and on every log line of the request, found by correlation ID alone.
            let logs = try await stack.logs("correlation_id=\(correlationID)") { logs in
                Set(logs.map(\.service)) == ["checkout", "inventory"] && logs.contains { $0.body == .string("checkout complete") }
            }
            #expect(Set(logs.map(\.service)) == ["checkout", "inventory"], "\(logs.map(\.body)); \(demo.standardError)")
            #expect(logs.count >= 4, "cart validated, inventory lookup, querying, checkout complete: \(logs.map(\.body))")
            #expect(logs.allSatisfy { $0.traceID?.hex == id }, "the correlation ID names this request only")
            #expect(logs.allSatisfy { $0.attributes["correlation_id"] == .string(correlationID) })
        }
        #expect(Set(correlationIDs).count == requests, "a fresh correlation ID per request")

        // Metrics: a counter and a timer per checkout, cumulative, exported at shutdown at the latest.
        var counterTotal = 0.0
        var timerPoints: [QueryAPI.MetricPoint] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let counter = try await stack.get(QueryAPI.MetricPoints.self, "/api/v1/metrics?name=checkout.requests&service=checkout").points
            #expect(counter.allSatisfy { $0.kind == "sum" })
            // Cumulative: the latest point of each series (outcome ok / error) is its running total.
            let latest = Dictionary(grouping: counter) { $0.attributes["outcome"]?.text ?? "" }
                .mapValues { $0.max { $0.timeUnixNano < $1.timeUnixNano }!.value }
            counterTotal = latest.values.reduce(0, +)
            timerPoints = try await stack.get(QueryAPI.MetricPoints.self, "/api/v1/metrics?name=checkout.duration&service=checkout").points
            if counterTotal >= Double(requests) && !timerPoints.isEmpty { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(counterTotal == Double(requests), "checkout.requests totals \(counterTotal)")
        #expect(!timerPoints.isEmpty && timerPoints.allSatisfy { $0.kind == "histogram" })
        let sums = timerPoints.sorted { $0.timeUnixNano < $1.timeUnixNano }.map(\.value)
        #expect(sums == sums.sorted(), "cumulative sums never decrease")
        // Each checkout takes at least the backend's 1 ms pretend query, in seconds.
        #expect((sums.last ?? 0) > 0.001 * Double(requests) && (sums.last ?? 0) < 60, "checkout.duration sum \(sums)")
    }

    @Test("sampling: ratio 0 stores no trace; a sampled parent is honoured by a backend at ratio 0")
    func sampling() async throws {
        let stack = try await Stack.start()
        defer { Task { await stack.stop() } }

        // Ratio 0 in both services: nothing is recorded, though the logs still arrive.
        let dropped = try await runDemo(agent: stack.agent, requests: 3, extra: ["--sampling-ratio", "0"]).traceIDs
        _ = try await stack.logs("service=checkout") { $0.filter { $0.body == .string("checkout complete") }.count >= 3 }
        _ = try await stack.logs("service=inventory") { $0.filter { $0.body == .string("inventory lookup") }.count >= 3 }
        try await Task.sleep(for: .seconds(1))
        #expect(try await stack.status()["spans"] == 0, "no span stored at ratio 0")
        for id in dropped {
            let reply = try await TestHTTP.get(stack.collector.url + "/api/v1/traces/\(id)", headers: stack.auth)
            #expect(reply.status == 404, "trace \(id): \(reply.status)")
        }

        // The frontend samples everything; the backend, at ratio 0, follows the incoming decision.
        let kept = try await runDemo(agent: stack.agent, requests: 3, extra: ["--sampling-ratio", "1", "--backend-sampling-ratio", "0"]).traceIDs
        for id in kept {
            let trace = try #require(try await stack.trace(id, spans: 5))
            #expect(Set(trace.spans.map(\.service)) == ["checkout", "inventory"])
            #expect(trace.spans.count == 5, "\(trace.spans.map(\.name))")
        }
    }

    @Test("with no agent the service keeps serving, memory stays bounded and every lost span is counted")
    func noAgent() async throws {
        let closedPort = FreePort.closed()  // nothing listens there, for the whole test
        let backend: RunningProcess
        do {
            backend = try RunningProcess(BinaryLocation.binary("periscope-example"), [
                "backend", "--listen", "127.0.0.1:0", "--agent", "http://127.0.0.1:\(closedPort.port)",
            ])
        } catch {
            closedPort.release()
            throw error
        }
        // The port is let go only once the backend, which exports to it, has stopped.
        defer { Task { await backend.stop(); closedPort.release() } }
        let port = try await backend.waitForListeningPort()
        let base = "http://127.0.0.1:\(port)"

        func send(_ count: Int, concurrency: Int = 8) async -> [Int: Int] {
            await withTaskGroup(of: [Int: Int].self) { group in
                for worker in 0..<concurrency {
                    group.addTask {
                        var statuses: [Int: Int] = [:]
                        for index in stride(from: worker, to: count, by: concurrency) {
                            let sku = ["apple", "banana", "cherry", "fig"][index % 4]
                            let status = (try? await TestHTTP.get(base + "/inventory/\(sku)").status) ?? -1
                            statuses[status, default: 0] += 1
                        }
                        return statuses
                    }
                }
                return await group.reduce(into: [:]) { total, part in total.merge(part, uniquingKeysWith: +) }
            }
        }

        let warmup = 200
        let requests = 3000
        #expect(await send(warmup) == [200: warmup])
        let before = try #require(ProcessMemory.of(backend.processID))
        let clock = ContinuousClock()
        var statuses: [Int: Int] = [:]
        let elapsed = await clock.measure { statuses = await send(requests) }
        let after = try #require(ProcessMemory.of(backend.processID))
        print("no agent: \(requests) requests in \(elapsed); RSS \(before.resident >> 20) → \(after.resident >> 20) MiB, peak \(after.peak >> 20) MiB")
        #expect(statuses == [200: requests], "every request answered: \(statuses)")
        #expect(elapsed < .seconds(60))
        #expect(after.resident - before.resident < 64 << 20, "RSS grew \((after.resident - before.resident) >> 20) MiB")
        #expect(after.resident < 512 << 20)

        // Let the exporter try again, then check every span is accounted for.
        try await Task.sleep(for: .seconds(3))
        struct Statistics: Decodable {
            struct Exporter: Decodable {
                var droppedSpans: Int, droppedLogs: Int, exportedSpans: Int, failedSpans: Int, failedLogs: Int
                var failedExports: Int, queuedItems: Int, deferredExports: Int
            }
            var exporter: Exporter
        }
        let reply = try await TestHTTP.get(base + "/debug/telemetry")
        let counters = try JSONDecoder().decode(Statistics.self, from: Data(reply.body)).exporter
        print("no agent: \(reply.text)")
        #expect(counters.exportedSpans == 0)
        // The agent was never reached, so nothing is given up: what fits stays queued for the next try.
        #expect(counters.failedExports == 0 && counters.deferredExports > 0)
        // Two spans per inventory request (server + db.query); each is either dropped at the
        // full queue, lost with a failed batch, or still queued — and counted either way.
        let spans = 2 * (warmup + requests)
        #expect(counters.droppedSpans + counters.failedSpans + counters.queuedItems >= spans, "\(counters)")
        #expect(counters.droppedSpans > 0, "the overflow is dropped and counted")
        #expect(counters.queuedItems <= 2 * 2 * 2_048, "the queues stay within twice their capacity")
    }
}
