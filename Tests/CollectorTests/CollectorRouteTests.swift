import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
@testable import PeriscopeCollector
import PeriscopeConfig
import PeriscopeDelivery
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeQueryAPI
import Testing

/// The collector's routes as the application wires them (`CollectorApplication.router`), driven
/// in process: bearer auth, OTLP ingest with batch IDs, the query API's answers and its errors.
@Suite("Collector routes")
struct CollectorRouteTests {
    static let token = "route-test-token"
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("routes-\(UUID().uuidString)").path

    func application() throws -> some ApplicationProtocol {
        var configuration = CollectorConfiguration()
        configuration.dataDirectory = directory
        configuration.tokens = [Self.token]
        let store = try SQLiteStore(directory: directory)
        return Application(router: CollectorApplication.router(store: store, configuration: configuration, logger: Logger(label: "routes")))
    }

    static let traceID = TraceID(hex: "4bf92f3577b34da6a3ce929d0e0e4736")!

    static func spans() -> [UInt8] {
        let now = WallClock.nowUnixNano()
        let span = Span(traceID: traceID, spanID: SpanID(hex: "00f067aa0ba902b7")!, name: "GET /cart", kind: .server,
                        startTimeUnixNano: now - 5_000_000, endTimeUnixNano: now)
        return OTLPEncoder.encode(.traces([ResourceSpans(resource: Resource(serviceName: "cart"), scopes: [ScopeSpans(scope: InstrumentationScope(name: "t"), spans: [span])])]))
    }

    static func headers(batchID: String? = nil, token: String? = CollectorRouteTests.token) -> HTTPFields {
        var fields: HTTPFields = [.contentType: OTLPFormat.protobuf.rawValue]
        if let token { fields[.authorization] = "Bearer \(token)" }
        if let batchID { fields[HTTPField.Name(EncodedBatch.idHeader)!] = batchID }
        return fields
    }

    func errorMessage(_ response: TestResponse) throws -> String {
        try JSONDecoder().decode(QueryAPI.ErrorBody.self, from: Data(buffer: response.body)).error
    }

    @Test("a known path asked with another method: 405 with Allow and what to use; an unknown path stays 404; auth comes first")
    func methodNotAllowed() async throws {
        try await application().test(.router) { client in
            let auth: HTTPFields = [.authorization: "Bearer \(Self.token)"]
            let getIngest = try await client.execute(uri: "/v1/traces", method: .get, headers: auth)
            #expect(getIngest.status == .methodNotAllowed)
            #expect(getIngest.headers[.allow] == "POST")
            #expect(try errorMessage(getIngest) == "GET is not served at /v1/traces; use POST")
            let deleteTrace = try await client.execute(uri: "/api/v1/traces/\(Self.traceID.hex)", method: .delete, headers: auth)
            #expect(deleteTrace.status == .methodNotAllowed)
            #expect(deleteTrace.headers[.allow] == "GET")
            let postHealth = try await client.execute(uri: "/healthz", method: .post)
            #expect(postHealth.status == .methodNotAllowed && postHealth.headers[.allow] == "GET", "/healthz needs no token, whatever the method")
            let headHealth = try await client.execute(uri: "/healthz", method: .head)
            #expect(headHealth.status == .notFound, "HEAD on a GET path keeps its 404: HEAD is not served")
            let unknown = try await client.execute(uri: "/api/v1/nothing", method: .get, headers: auth)
            #expect(unknown.status == .notFound)
            let tooDeep = try await client.execute(uri: "/api/v1/traces/\(Self.traceID.hex)/more", method: .post, headers: auth)
            #expect(tooDeep.status == .notFound)
            let unauthenticated = try await client.execute(uri: "/v1/traces", method: .get)
            #expect(unauthenticated.status == .unauthorized)
            let found = try await client.execute(uri: "/api/v1/traces/\(Self.traceID.hex)", method: .get, headers: auth)
            #expect(found.status == .notFound, "a route's own 404 (no such trace) is kept")
        }
    }

    @Test("without the right bearer token: 401 with WWW-Authenticate, nothing stored; /healthz needs none")
    func bearerAuth() async throws {
        try await application().test(.router) { client in
            let missing = try await client.execute(uri: "/v1/traces", method: .post, headers: Self.headers(token: nil), body: ByteBuffer(bytes: Self.spans()))
            #expect(missing.status == .unauthorized)
            #expect(missing.headers[.wwwAuthenticate] == "Bearer")
            let wrong = try await client.execute(uri: "/v1/traces", method: .post, headers: Self.headers(token: "route-test-tokem"), body: ByteBuffer(bytes: Self.spans()))
            #expect(wrong.status == .unauthorized)
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            let trace = try await client.execute(uri: "/api/v1/traces/\(Self.traceID.hex)", method: .get, headers: [.authorization: "Bearer \(Self.token)"])
            #expect(trace.status == .notFound, "the refused requests stored nothing")
        }
    }

    @Test("a batch ID is stored once: the retry is answered 200 and marked duplicate; a bad batch ID is a 400")
    func batchIDsDeduplicate() async throws {
        try await application().test(.router) { client in
            let first = try await client.execute(uri: "/v1/traces", method: .post, headers: Self.headers(batchID: "b-1"), body: ByteBuffer(bytes: Self.spans()))
            #expect(first.status == .ok)
            #expect(first.headers[HTTPField.Name("X-Periscope-Duplicate")!] == nil)
            let retry = try await client.execute(uri: "/v1/traces", method: .post, headers: Self.headers(batchID: "b-1"), body: ByteBuffer(bytes: Self.spans()))
            #expect(retry.status == .ok)
            #expect(retry.headers[HTTPField.Name("X-Periscope-Duplicate")!] == "true")
            let tooLong = try await client.execute(
                uri: "/v1/traces", method: .post, headers: Self.headers(batchID: String(repeating: "x", count: 129)), body: ByteBuffer(bytes: Self.spans()))
            #expect(tooLong.status == .badRequest)
            let trace = try await client.execute(uri: "/api/v1/traces/\(Self.traceID.hex)", method: .get, headers: [.authorization: "Bearer \(Self.token)"])
            #expect(trace.status == .ok)
            let document = try JSONDecoder().decode(QueryAPI.Trace.self, from: Data(buffer: trace.body))
            #expect(document.spans.count == 1, "the retry stored nothing again")
        }
    }

    @Test("query strings decode as forms do: + is a space (Python's urlencode, URLSearchParams), %2B a plus; an unencoded offset still reads as one")
    func formEncodedQueries() async throws {
        let parameters = QueryParameters(query: "operation=GET+/cart&tag=a%2Bb&x=%ZZ+1&flag&operation=second&start=2026-01-02T10:00:00+01:00")
        #expect(parameters.string("operation") == "GET /cart", "the first of a repeated name")
        #expect(parameters.all("operation") == ["GET /cart", "second"])
        #expect(parameters.string("tag") == "a+b")
        #expect(parameters.string("x") == "%ZZ 1", "broken percent-encoding is kept as sent")
        #expect(parameters.string("flag") == nil)
        #expect(try parameters.time("start") == TimestampText.unixNano(nanosOrRFC3339: "2026-01-02T09:00:00Z"))
        // Any text reads without trapping; any value percent-encoded whole reads back as it was.
        let alphabet = Array("a+%2B=&  é0F\u{0}".unicodeScalars)
        for _ in 0..<2_000 {
            let text = String(String.UnicodeScalarView((0..<Int.random(in: 0...24)).map { _ in alphabet.randomElement()! }))
            _ = QueryParameters(query: text).pairs
            let encoded = text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            #expect(QueryParameters(query: "v=" + encoded).all("v") == [text], "\(encoded)")
        }
        try await application().test(.router) { client in
            let stored = try await client.execute(uri: "/v1/traces", method: .post, headers: Self.headers(batchID: "plus"), body: ByteBuffer(bytes: Self.spans()))
            #expect(stored.status == .ok)
            for operation in ["GET+/cart", "GET%20/cart"] {
                let found = try await client.execute(
                    uri: "/api/v1/traces?service=cart&operation=\(operation)&start=0", method: .get, headers: [.authorization: "Bearer \(Self.token)"])
                let list = try JSONDecoder().decode(QueryAPI.TraceList.self, from: Data(buffer: found.body))
                #expect(list.traces.count == 1, "operation=\(operation)")
            }
        }
    }

    @Test("a log record with a severity text and no number is filtered by the level its text names; its text is kept")
    func severityFromText() async throws {
        let now = WallClock.nowUnixNano()
        func record(_ text: String, _ number: Severity = .unspecified) -> LogRecord {
            LogRecord(timeUnixNano: now, severityNumber: number, severityText: text, body: .string(text.isEmpty ? "none" : text))
        }
        let records = [record("ERROR"), record("warning"), record("Info"), record("nonsense"), record("ERROR", .debug), record("")]
        let derived = SeverityFromText.apply(to: .logs([ResourceLogs(resource: Resource(serviceName: "sev"), scopes: [ScopeLogs(records: records)])]))
        guard case .logs(let groups) = derived else { Issue.record("not logs"); return }
        #expect(groups[0].scopes[0].records.map(\.severityNumber) == [.error, .warn, .info, .unspecified, .debug, .unspecified])
        #expect(groups[0].scopes[0].records.map(\.severityText) == records.map(\.severityText))
        try await application().test(.router) { client in
            let body = OTLPEncoder.encode(.logs([ResourceLogs(resource: Resource(serviceName: "sev"), scopes: [ScopeLogs(records: records)])]))
            let stored = try await client.execute(uri: "/v1/logs", method: .post, headers: Self.headers(batchID: "sev"), body: ByteBuffer(bytes: body))
            #expect(stored.status == .ok)
            let found = try await client.execute(uri: "/api/v1/logs?service=sev&level=warn&start=0", method: .get, headers: [.authorization: "Bearer \(Self.token)"])
            let logs = try JSONDecoder().decode(QueryAPI.Logs.self, from: Data(buffer: found.body))
            #expect(Set(logs.logs.map(\.severityText)) == ["ERROR", "warning"], "\(logs.logs.map(\.severityText))")
        }
    }

    @Test("malformed OTLP and an unsupported content type are refused with a reason", arguments: [
        ("application/x-protobuf", [UInt8]([0xff, 0xff, 0xff, 0xff, 0x0f]), HTTPResponse.Status.badRequest),
        ("text/plain", Array("hello".utf8), HTTPResponse.Status.unsupportedMediaType),
    ])
    func badIngest(contentType: String, body: [UInt8], status: HTTPResponse.Status) async throws {
        try await application().test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/logs", method: .post, headers: [.contentType: contentType, .authorization: "Bearer \(Self.token)"], body: ByteBuffer(bytes: body))
            #expect(response.status == status)
        }
    }

    @Test("query parameters out of range get a 400 that names the parameter", arguments: [
        ("/api/v1/traces/nothex", "trace ID must be 32 hex digits"),
        ("/api/v1/traces?limit=0", "limit must be a whole number from 1 to 10000"),
        ("/api/v1/traces?start=9999-01-01T00:00:00Z", "start must be between 1970-01-01T00:00:00Z and 2262-04-11T23:47:16Z"),
        ("/api/v1/traces?start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z", "start must not be after end"),
        ("/api/v1/traces?kind=sideways", "kind must be one of"),
        ("/api/v1/traces?min_duration=soon", "min_duration must be a duration"),
        ("/api/v1/traces?id_prefix=xyz", "id_prefix must be 4 to 32 hex digits"),
        ("/api/v1/logs?level=loud", "level must be trace, debug, info, warn, error or fatal"),
        ("/api/v1/logs?order=sideways", "order must be asc or desc"),
        ("/api/v1/logs?trace_id=123", "trace_id"),
    ])
    func badQueries(uri: String, message: String) async throws {
        try await application().test(.router) { client in
            let response = try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer \(Self.token)"])
            #expect(response.status == .badRequest)
            let text = try errorMessage(response)
            #expect(text.contains(message), "\(text)")
        }
    }
}

@Suite("Retention service")
struct RetentionServiceTests {
    @Test("drops every day wholly older than the retention period, keeps the day the cutoff falls in")
    func dropsOldDays() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("retention-\(UUID().uuidString)").path
        let store = try SQLiteStore(directory: directory)
        let day = PartitionDay.nanosPerDay
        let now = 20_000 * day + day / 2
        for daysAgo: UInt64 in [0, 1, 2, 3] {
            let start = now - daysAgo * day
            let span = Span(traceID: .random(), spanID: .random(), name: "op", startTimeUnixNano: start, endTimeUnixNano: start + 1)
            _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "svc"), scopes: [ScopeSpans(scope: InstrumentationScope(name: "t"), spans: [span])])]), batchID: nil, nowUnixNano: now)
        }
        #expect(store.days.count == 4)
        let service = RetentionService(store: store, retentionNanos: 2 * day, logger: Logger(label: "retention"))
        service.enforce(nowUnixNano: now)
        // The cutoff is 2 days before now, mid-day: that day is kept, the one before it dropped.
        #expect(store.days == [PartitionDay(unixNano: now - 2 * day), PartitionDay(unixNano: now - day), PartitionDay(unixNano: now)])
        service.enforce(nowUnixNano: now)
        #expect(store.days.count == 3, "enforcing again changes nothing")
    }
}
