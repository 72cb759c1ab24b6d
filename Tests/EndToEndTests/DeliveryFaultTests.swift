import Foundation
import PeriscopeModel
import PeriscopeTesting
import Testing

/// DESIGN §7 under faults, with the real binaries and a steady load: after each fault, every
/// request the agent acknowledged is in the store exactly once. The counts compared are printed.
@Suite("Delivery under faults", .serialized)
struct DeliveryFaultTests {
    /// Agent RSS must stay under this whatever happens (it is ~20–40 MiB in practice).
    static let memoryCeiling = 256 << 20

    @Test("kill -9 the agent at random moments, 20 times")
    func agentKilledRepeatedly() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory)
        var agent = try await AgentProcess.start(in: directory, collector: collector)
        let load = LogLoad()
        load.target(agent.url)
        let loadTask = Task { await load.run(duration: .seconds(120), maxRequests: 5_000) }
        var peak = 0
        for _ in 0..<20 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...600)))
            peak = max(peak, ProcessMemory.of(agent.process.processID)?.peak ?? 0)
            load.target(nil)
            await agent.process.kill9()
            agent = try await AgentProcess.start(in: directory, collector: collector)
            load.target(agent.url)
        }
        try await Task.sleep(for: .milliseconds(500))
        loadTask.cancel()
        load.target(nil)
        await loadTask.value
        try await StoreAudit.waitForDrain(collector, atLeast: load.acknowledged.count * load.recordsPerRequest)
        let report = try await StoreAudit.audit(load, collector: collector)
        print("agent kill -9 ×20: \(report); statuses \(load.statuses); agent peak RSS \(peak >> 20) MiB")
        #expect(report.acknowledged > 10, "the load got through between kills")
        #expect(report.isExact, "\(report)")
        #expect(peak < Self.memoryCeiling)
        await agent.process.stop()
        await collector.process.stop()
    }

    @Test("stop the collector for a while under load, then start it again")
    func collectorOutage() async throws {
        let outage = Duration.seconds(Int(ProcessInfo.processInfo.environment["PERISCOPE_OUTAGE_SECONDS"] ?? "60") ?? 60)
        let directory = try TemporaryDirectory()
        let port = FreePort.pick()
        var collector = try await CollectorProcess.start(in: directory, port: port)
        let agent = try await AgentProcess.start(in: directory, collector: collector)
        let load = LogLoad()
        load.target(agent.url)
        let loadTask = Task { await load.run(duration: outage + .seconds(6), maxRequests: 20_000, pause: .milliseconds(20)) }
        try await Task.sleep(for: .seconds(2))
        await collector.process.stop()
        let acknowledgedBefore = load.acknowledged.count
        var peak = 0
        let outageEnd = ContinuousClock.now + outage
        while ContinuousClock.now < outageEnd {
            try await Task.sleep(for: .seconds(1))
            peak = max(peak, ProcessMemory.of(agent.process.processID)?.resident ?? 0)
        }
        let acknowledgedDuringOutage = load.acknowledged.count - acknowledgedBefore
        collector = try await CollectorProcess.start(in: directory, port: port, dataDirectory: collector.dataDirectory)
        await loadTask.value
        try await StoreAudit.waitForDrain(collector, atLeast: load.acknowledged.count * load.recordsPerRequest, timeout: .seconds(90))
        let report = try await StoreAudit.audit(load, collector: collector)
        print("collector down \(outage): \(report); acknowledged while down \(acknowledgedDuringOutage); statuses \(load.statuses); agent RSS peak \(peak >> 20) MiB")
        #expect(acknowledgedDuringOutage > 0, "the agent keeps accepting while the collector is down")
        #expect(report.isExact, "\(report)")
        #expect(peak < Self.memoryCeiling)
        await agent.process.stop()
        await collector.process.stop()
    }

    @Test("kill -9 the collector mid-batch, 5 times")
    func collectorKilled() async throws {
        let directory = try TemporaryDirectory()
        let port = FreePort.pick()
        var collector = try await CollectorProcess.start(in: directory, port: port)
        let agent = try await AgentProcess.start(in: directory, collector: collector)
        let load = LogLoad(recordsPerRequest: 50)
        load.target(agent.url)
        let loadTask = Task { await load.run(duration: .seconds(60), maxRequests: 3_000, pause: .milliseconds(2)) }
        for _ in 0..<5 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...900)))
            await collector.process.kill9()
            collector = try await CollectorProcess.start(in: directory, port: port, dataDirectory: collector.dataDirectory)
        }
        try await Task.sleep(for: .seconds(1))
        loadTask.cancel()
        load.target(nil)
        await loadTask.value
        try await StoreAudit.waitForDrain(collector, atLeast: load.acknowledged.count * load.recordsPerRequest)
        let report = try await StoreAudit.audit(load, collector: collector)
        print("collector kill -9 ×5: \(report); statuses \(load.statuses)")
        #expect(report.isExact, "\(report)")
        await agent.process.stop()
        await collector.process.stop()
    }

    @Test("a full queue answers 429 with Retry-After, and everything acknowledged arrives once the collector is back")
    func queueFull() async throws {
        let directory = try TemporaryDirectory()
        let port = FreePort.pick()
        var collector = try await CollectorProcess.start(in: directory, port: port)
        let config = directory.file("agent.yaml")
        try "queue:\n  max_size: 256KiB\n  segment_size: 32KiB\nbatch:\n  max_delay: 2ms\n".write(to: config, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(in: directory, collector: collector, extraArguments: ["--config", config.path])
        await collector.process.stop()

        let load = LogLoad(recordsPerRequest: 20)
        var sawRetryAfter: String?
        var sequence = 0
        while sawRetryAfter == nil && sequence < 5_000 {
            sequence += 1
            let traceID = TraceID.random()
            let reply = try await TestHTTP.post(agent.url + "/v1/logs", body: load.request(for: traceID, sequence: sequence),
                                                headers: ["Content-Type": "application/x-protobuf"])
            if reply.status == 429 { sawRetryAfter = reply.header("Retry-After") }
            load.record(traceID, status: reply.status)
        }
        #expect(sawRetryAfter != nil, "the agent answered 429 once full")
        #expect(Int(sawRetryAfter ?? "") ?? 0 > 0)
        collector = try await CollectorProcess.start(in: directory, port: port, dataDirectory: collector.dataDirectory)
        try await StoreAudit.waitForDrain(collector, atLeast: load.acknowledged.count * load.recordsPerRequest)
        let report = try await StoreAudit.audit(load, collector: collector)
        print("queue full: \(report); statuses \(load.statuses)")
        #expect(report.acknowledged > 10)
        #expect(report.isExact, "\(report)")
        #expect(report.unacknowledgedStored == 0, "a refused request was not queued")
        await agent.process.stop()
        await collector.process.stop()
    }
}
