@testable import PeriscopeAgent
import PeriscopeLogLines
import PeriscopeModel
import PeriscopeOTLP
import Synchronization
import Testing

/// A sink that keeps what it was handed.
private final class RecordingSink: BatchSink {
    let received = Mutex<[OTLPRequestPayload]>([])
    func accept(_ request: OTLPRequestPayload) async throws(DeliveryError) { received.withLock { $0.append(request) } }
}

@Suite("Processors: redaction of received logs")
struct LogRedactionTests {
    static func logs(_ records: [LogRecord]) -> TelemetryBatch {
        .logs([ResourceLogs(resource: Resource(serviceName: "svc"), scopes: [ScopeLogs(scope: InstrumentationScope(name: "t"), records: records)])])
    }

    @Test("what a redaction makes longer than a receiver takes in one value is cut, so the collector takes the batch")
    func growthIsCut() async throws {
        let sink = RecordingSink()
        let processor = LogRedaction(redactor: Redactor(rules: [], includeDefaults: true), next: sink)
        // 160,000 e-mail addresses of 7 bytes: 1.1 MB, 2.7 MB once each is [REDACTED_EMAIL].
        let mails = String(repeating: "a@b.cc ", count: 160_000)
        let batch = Self.logs([LogRecord(timeUnixNano: 1, body: .string(mails), attributes: [Attribute("list", .array([.string(mails)]))])])
        try await processor.accept(OTLPRequestPayload(batch: batch, protobuf: OTLPEncoder.encode(batch)))
        let received = try #require(sink.received.withLock { $0.first })
        guard case .logs(let groups) = received.batch, case .string(let body) = groups[0].scopes[0].records[0].body else {
            Issue.record("not a log body")
            return
        }
        #expect(body.utf8.count <= OTLPLimits.default.maxValueBytes && body.hasPrefix("[REDACTED_EMAIL] "))
        #expect(OTLPLimits.default.elements(of: groups[0].scopes[0].records[0].attributes[0].value) != nil)
        #expect(throws: Never.self) { try OTLPDecoder().decode(.logs, received.protobufBody, format: .protobuf, nowUnixNano: .max / 2) }
    }

    @Test("a record with secrets is redacted in body and attributes (nested too) and re-encoded; the counts are kept")
    func secretsAreRedacted() async throws {
        let sink = RecordingSink()
        let redactor = Redactor(rules: [], includeDefaults: true)
        let processor = LogRedaction(redactor: redactor, next: sink)
        let batch = Self.logs([
            LogRecord(timeUnixNano: 1, body: .string("mail bob@example.com"), attributes: [
                Attribute("auth", .string("Bearer abc.def")),
                Attribute("nested", .keyValueList([Attribute("card", .string("4111 1111 1111 1111"))])),
                Attribute("count", .int(3)),
            ]),
            LogRecord(timeUnixNano: 2, body: .string("nothing to see")),
        ])
        try await processor.accept(OTLPRequestPayload(batch: batch, protobuf: OTLPEncoder.encode(batch)))
        let received = try #require(sink.received.withLock { $0.first })
        #expect(received.protobuf == nil, "changed records are encoded again, not sent as the client's bytes")
        guard case .logs(let groups) = received.batch else {
            Issue.record("not logs")
            return
        }
        let records = groups[0].scopes[0].records
        #expect(records[0].body == .string("mail [REDACTED_EMAIL]"))
        #expect(records[0].attributes == [
            Attribute("auth", .string("Bearer [REDACTED]")),
            Attribute("nested", .keyValueList([Attribute("card", .string("[REDACTED_CARD]"))])),
            Attribute("count", .int(3)),
        ])
        #expect(records[1] == LogRecord(timeUnixNano: 2, body: .string("nothing to see")))
        #expect(redactor.redactionsByRule == ["email": 1, "bearer_token": 1, "card_number": 1, "password": 0])
        let decoded = try OTLPDecoder().decode(.logs, received.protobufBody, format: .protobuf)
        #expect(decoded.batch == received.batch, "what is queued decodes to the redacted records")
    }

    @Test(
        "a secret alone in one place of one record is found and redacted",
        arguments: [
            ("body", LogRecord(timeUnixNano: 1, body: .string("mail bob@example.com"))),
            ("attribute", LogRecord(timeUnixNano: 1, body: .string("ok"), attributes: [Attribute("to", .string("bob@example.com"))])),
            ("key-value list", LogRecord(timeUnixNano: 1, body: .keyValueList([Attribute("user", .keyValueList([Attribute("mail", .string("bob@example.com"))]))]))),
            ("array", LogRecord(timeUnixNano: 1, body: .string("ok"), attributes: [Attribute("list", .array([.int(1), .string("bob@example.com")]))])),
        ])
    func secretAloneIsFound(place: String, record: LogRecord) async throws {
        let sink = RecordingSink()
        let processor = LogRedaction(redactor: Redactor(rules: [], includeDefaults: true), next: sink)
        let batch = Self.logs([LogRecord(timeUnixNano: 0, body: .string("clean")), record])
        try await processor.accept(OTLPRequestPayload(batch: batch, protobuf: OTLPEncoder.encode(batch)))
        let received = try #require(sink.received.withLock { $0.first })
        #expect(received.protobuf == nil, "the secret in the \(place) was not redacted")
        #expect(!String(describing: received.batch).contains("bob@example.com"), "the secret in the \(place) is still there")
    }

    @Test("a request with nothing to redact keeps the client's bytes; spans pass unchanged")
    func cleanRequestsPassUntouched() async throws {
        let sink = RecordingSink()
        let processor = LogRedaction(redactor: Redactor(rules: [], includeDefaults: true), next: sink)
        let logs = Self.logs([LogRecord(timeUnixNano: 1, body: .string("checkout done"), attributes: [Attribute("order", .string("A-17"))])])
        let bytes = OTLPEncoder.encode(logs)
        try await processor.accept(OTLPRequestPayload(batch: logs, protobuf: bytes))
        let span = Span(traceID: .random(), spanID: .random(), name: "GET mail bob@example.com", startTimeUnixNano: 1, endTimeUnixNano: 2)
        let traces = TelemetryBatch.traces([ResourceSpans(resource: Resource(serviceName: "svc"), scopes: [ScopeSpans(scope: InstrumentationScope(name: "t"), spans: [span])])])
        try await processor.accept(OTLPRequestPayload(batch: traces, protobuf: nil))
        let received = sink.received.withLock { $0 }
        #expect(received.count == 2)
        #expect(received.first?.protobuf == bytes)
        #expect(received.last?.batch == traces)
    }
}
