import Foundation
import PeriscopeQueryAPI
import PeriscopeTesting
import Testing

/// The agent's own metrics arrive at the collector like any other metric, and a graceful
/// shutdown drains what is queued.
@Suite("Agent self-telemetry and graceful drain")
struct AgentTelemetryTests {
    func points(_ name: String, _ collector: CollectorProcess) async throws -> [QueryAPI.MetricPoint] {
        let reply = try await TestHTTP.get(collector.url + "/api/v1/metrics?name=\(name)&service=periscope-agent",
                                           headers: ["Authorization": "Bearer \(collector.token)"])
        return try JSONDecoder().decode(QueryAPI.MetricPoints.self, from: Data(reply.body)).points
    }

    @Test("queue depth, shipping counters and breaker state are exported as metrics")
    func selfTelemetry() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory)
        let config = directory.file("agent.yaml")
        try "self_telemetry_interval: 200ms\n".write(to: config, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(in: directory, collector: collector, extraArguments: ["--config", config.path])
        defer { Task { await agent.process.stop(); await collector.process.stop() } }
        let load = LogLoad(recordsPerRequest: 5)
        load.target(agent.url)
        // Bounded by count; the generous time bound only matters on a very loaded machine.
        await load.run(duration: .seconds(60), maxRequests: 10, concurrency: 1)
        let expectedItems = Double(load.acknowledged.count * load.recordsPerRequest)
        #expect(load.acknowledged.count == 10)

        let shipped = try await poll(for: .seconds(15)) {
            try await points("periscope.agent.shipper.shipped_items", collector)
        } until: { ($0.last?.value ?? 0) >= expectedItems }
        // Every log record the load sent was counted as shipped (metrics batches add their own points).
        #expect((shipped.last?.value ?? 0) >= expectedItems)
        #expect(shipped.allSatisfy { $0.kind == "sum" })
        for name in ["periscope.agent.queue.records", "periscope.agent.queue.bytes", "periscope.agent.queue.utilization",
                     "periscope.agent.queue.oldest_age", "periscope.agent.shipper.breaker_state", "periscope.agent.shipper.retries",
                     "periscope.agent.queue.dropped", "periscope.agent.shipper.dead_letters", "periscope.agent.received.budget_refusals"] {
            let found = try await points(name, collector)
            #expect(!found.isEmpty, "\(name) exported")
        }
        let breaker = try await points("periscope.agent.shipper.breaker_state", collector)
        #expect(breaker.last?.value == 0, "closed while the collector is up")
        let healthy = try await points("periscope.agent.shipper.collectors_healthy", collector)
        #expect(healthy.last?.value == 1, "its one collector takes its share")
        // Every request was answered: the receiver's budget holds nothing, and never refused one.
        let held = try await points("periscope.agent.received.inflight_bytes", collector)
        #expect(!held.isEmpty && held.last?.value == 0, "\(held.suffix(3))")
        let refusals = try await points("periscope.agent.received.budget_refusals", collector)
        #expect(refusals.last?.value == 0)
    }

    @Test("SIGTERM drains the queue to a collector that came back")
    func gracefulShutdownDrains() async throws {
        let directory = try TemporaryDirectory()
        let port = FreePort.pick()
        var collector = try await CollectorProcess.start(in: directory, port: port)
        let config = directory.file("agent.yaml")
        try "self_telemetry_interval: off\nbatch:\n  max_delay: 10ms\nshipper:\n  drain_timeout: 20s\n".write(to: config, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(in: directory, collector: collector, extraArguments: ["--config", config.path])
        await collector.process.stop()
        let load = LogLoad(recordsPerRequest: 10)
        load.target(agent.url)
        await load.run(duration: .seconds(60), maxRequests: 20, concurrency: 1)
        #expect(load.acknowledged.count == 20)
        collector = try await CollectorProcess.start(in: directory, port: port, dataDirectory: collector.dataDirectory)
        // Stop the agent at once: the shipper is still backing off and must drain before it exits.
        await agent.process.stop(grace: .seconds(30))
        let report = try await StoreAudit.audit(load, collector: collector)
        print("graceful drain: \(report)")
        #expect(report.isExact, "\(report)")
        await collector.process.stop()
    }
}
