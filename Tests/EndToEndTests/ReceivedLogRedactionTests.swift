import Foundation
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeQueryAPI
import PeriscopeTesting
import Testing

/// Logs that reach the agent over OTLP pass the same redaction rules as tailed lines before
/// they are queued: what the collector stores has no secret in it, in protobuf and JSON alike.
@Suite("Received logs are redacted")
struct ReceivedLogRedactionTests {
    @Test("an OTLP log with an e-mail, a password and a custom-rule match is stored redacted; a clean one untouched")
    func receivedLogsAreRedacted() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory)
        let agent = try await AgentProcess.start(
            in: directory, collector: collector, extraArguments: ["--redact", #"ssn=\d{3}-\d{2}-\d{4}"#])
        defer { Task { await agent.process.stop(); await collector.process.stop() } }
        let now = WallClock.nowUnixNano()
        let resource = Resource(serviceName: "redaction-svc")
        func record(_ body: String, _ attributes: [Attribute] = []) -> LogRecord {
            LogRecord(timeUnixNano: now, severityNumber: .info, body: .string(body), attributes: attributes)
        }
        let secret = record("login bob@example.com password=hunter2 ssn 123-45-6789", [Attribute("user.email", .string("bob@example.com"))])
        let clean = record("checkout done in 12 ms", [Attribute("order.id", .string("A-17"))])
        for format in [OTLPFormat.protobuf, .json] {
            let body = OTLPEncoder.encode(.logs([ResourceLogs(resource: resource, scopes: [ScopeLogs(scope: InstrumentationScope(name: "t"), records: [secret, clean])])]), format: format)
            let reply = try await TestHTTP.post(agent.url + "/v1/logs", body: body, headers: ["Content-Type": format.rawValue])
            #expect(reply.status == 200)
        }
        let logs = try await poll(every: .milliseconds(100), for: .seconds(20)) {
            let reply = try await TestHTTP.get(
                collector.url + "/api/v1/logs?service=redaction-svc&limit=100", headers: ["Authorization": "Bearer \(collector.token)"])
            return try JSONDecoder().decode(QueryAPI.Logs.self, from: Data(reply.body)).logs
        } until: { $0.count >= 4 }
        #expect(logs.count == 4, "two requests of two records, each stored once")
        let redacted = logs.filter { $0.body != .string("checkout done in 12 ms") }
        #expect(redacted.count == 2)
        for log in redacted {
            #expect(log.body == .string("login [REDACTED_EMAIL] password=[REDACTED] ssn [REDACTED]"))
            #expect(log.attributes["user.email"] == .string("[REDACTED_EMAIL]"))
        }
        for log in logs where log.body == .string("checkout done in 12 ms") {
            #expect(log.attributes["order.id"] == .string("A-17"))
        }
    }
}
