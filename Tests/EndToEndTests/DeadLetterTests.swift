import Foundation
import PeriscopeModel
import PeriscopeTesting
import Testing

/// A batch the collector refuses for good lands in the dead-letter folder with the reason,
/// and `periscope-agent dlq list | replay | purge` work on it.
@Suite("Dead letters")
struct DeadLetterTests {
    func dlq(_ arguments: [String]) async throws -> CompletedProcess {
        try await RunningProcess.run(BinaryLocation.binary("periscope-agent"), ["dlq"] + arguments, timeout: .seconds(30))
    }

    @Test("413 from the collector → dead letter; list shows it, replay delivers it, purge empties the folder")
    func deadLetterLifecycle() async throws {
        let directory = try TemporaryDirectory()
        let strict = directory.file("collector.yaml")
        try "max_decompressed_bytes: 2048\n".write(to: strict, atomically: true, encoding: .utf8)
        let port = FreePort.pick()
        var collector = try await CollectorProcess.start(in: directory, port: port, extraArguments: ["--config", strict.path])
        let config = directory.file("agent.yaml")
        try "self_telemetry_interval: off\nhost_metrics_interval: off\nbatch:\n  max_delay: 5ms\n".write(to: config, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(in: directory, collector: collector, extraArguments: ["--config", config.path])
        let agentData = directory.file("agent-data").path

        // 40 records of ~100 bytes: fine for the agent, over the collector's 2 KiB limit.
        let load = LogLoad(recordsPerRequest: 40)
        let traceID = TraceID.random()
        let reply = try await TestHTTP.post(agent.url + "/v1/logs", body: load.request(for: traceID, sequence: 1), headers: ["Content-Type": "application/x-protobuf"])
        #expect(reply.status == 200, "the agent accepted it")

        let letters = try await poll(for: .seconds(20)) {
            let list = try await dlq(["list", "--data", agentData, "--json"])
            return (try? JSONDecoder().decode([[String: AnyCodable]].self, from: Data(list.standardOutput.utf8))) ?? []
        } until: { !$0.isEmpty }
        try #require(letters.count == 1, "one dead letter")
        #expect(letters[0]["status"]?.int == 413)
        #expect(letters[0]["items"]?.int == 40)
        let reason: String = letters[0]["reason"]?.string ?? ""
        #expect(reason.contains("exceeds"), "reason: \(reason)")
        let human = try await dlq(["list", "--data", agentData])
        #expect(human.standardOutput.contains("HTTP 413"))
        #expect(human.standardOutput.contains("1 dead letters"))

        // A copy of the folder, to purge later.
        let copy = directory.file("copy-data").path
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: agentData + "/dead-letters", toPath: copy + "/dead-letters")

        // Fix the cause, replay: the batch arrives once and the letter is gone.
        await agent.process.stop()
        await collector.process.stop()
        collector = try await CollectorProcess.start(in: directory, port: port, dataDirectory: collector.dataDirectory)
        let replay = try await dlq(["replay", "--data", agentData, "--collector", collector.url, "--token-file", collector.tokenFile.path])
        #expect(replay.standardOutput.contains("replayed 1, still dead 0"), "\(replay.standardOutput) \(replay.standardError)")
        let audit = try await StoreAudit.audit(load.withAcknowledged([traceID]), collector: collector)
        #expect(audit.isExact, "\(audit)")
        let again = try await dlq(["replay", "--data", agentData, "--collector", collector.url, "--token-file", collector.tokenFile.path])
        #expect(again.standardOutput.contains("replayed 0"))

        // Purge removes every letter.
        let purge = try await dlq(["purge", "--data", copy])
        #expect(purge.standardOutput.contains("purged 1"))
        let empty = try await dlq(["list", "--data", copy])
        #expect(empty.standardOutput.contains("no dead letters"))
        await collector.process.stop()
    }
}

/// Just enough of "any JSON value" to read the `dlq list --json` objects.
struct AnyCodable: Decodable {
    var int: Int?
    var string: String?

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        int = try? container.decode(Int.self)
        string = try? container.decode(String.self)
    }
}
