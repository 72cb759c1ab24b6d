import Foundation
import PeriscopeModel
import PeriscopeTesting
import Testing

/// Collectors that share one PostgreSQL store (`--store postgres://…`), behind one agent.
/// Run on its own by `make test` (after the other suites): it loads both cores, which would
/// skew the timing of the fault tests beside it.
@Suite("Collectors on a shared PostgreSQL store")
struct SharedPostgresStoreTests {
    @Test("two collectors on one PostgreSQL store, kill -9 one of them 4 times under steady traffic: every acknowledged record is stored exactly once")
    func sharedPostgresKilledUnderLoad() async throws {
        let directory = try TemporaryDirectory()
        let store = try await PostgresServer.shared().createDatabase()
        let portB = FreePort.pick()
        let a = try await CollectorProcess.start(in: directory, dataDirectory: directory.file("data-a"), extraArguments: ["--store", store])
        defer { Task { await a.process.stop() } }
        var b = try await CollectorProcess.start(
            in: directory, port: portB, dataDirectory: directory.file("data-b"), extraArguments: ["--store", store])
        let agent = try await AgentProcess.start(in: directory, collector: a, extraArguments: ["--collector", "\(a.url),\(b.url)"])
        defer { Task { await agent.process.stop() } }
        let load = LogLoad(recordsPerRequest: 20)
        load.target(agent.url)
        let loadTask = Task { await load.run(duration: .seconds(30), maxRequests: 4_000, pause: .milliseconds(2)) }
        for _ in 0..<4 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 400...1_200)))
            await b.process.kill9()
            try await Task.sleep(for: .milliseconds(Int.random(in: 200...800)))
            b = try await CollectorProcess.start(
                in: directory, port: portB, dataDirectory: b.dataDirectory, extraArguments: ["--store", store])
        }
        try await Task.sleep(for: .seconds(1))
        loadTask.cancel()
        load.target(nil)
        await loadTask.value
        let restarted = b
        defer { Task { await restarted.process.stop() } }
        // One database: either collector answers for everything.
        try await StoreAudit.waitForDrain(restarted, atLeast: load.acknowledged.count * load.recordsPerRequest, timeout: .seconds(90))
        let report = try await StoreAudit.audit(load, collectors: [a])
        print("two collectors on one PostgreSQL store, one killed ×4 under load: \(report); statuses \(load.statuses)")
        #expect(report.acknowledged > 200)
        #expect(report.missing == 0 && report.partial == 0 && report.duplicated == 0, "exactly once: \(report)")
        #expect(report.storedRecords == (report.acknowledged + report.unacknowledgedStored) * load.recordsPerRequest, "\(report)")
        #expect(try await StoreAudit.logRecordCount(restarted) == report.storedRecords, "both collectors read the same store")
    }
}
