import AsyncHTTPClient
import Hummingbird
import Logging
import PeriscopeHTTPClient
import PeriscopeHummingbird
import PeriscopeSDK
import Testing
import Tracing

/// The Hummingbird middleware and the AsyncHTTPClient helper against each other over real
/// loopback HTTP, with a tracer that is not installed globally.
@Suite struct HTTPIntegrationTests {
    struct Teapot: HTTPResponseError {
        var status: HTTPResponse.Status { .serviceUnavailable }
        func response(from request: Request, context: some RequestContext) throws -> Response { Response(status: status) }
    }

    /// Runs a Hummingbird app with the middleware on a free port for the duration of `body`.
    func withServer(
        tracer: PeriscopeTracer, sink: InMemorySink, routeStyle: TracingRequestMiddleware<BasicRequestContext>.RouteStyle = .framework,
        _ body: (String) async throws -> Void
    ) async throws {
        let logger = Logger(label: "server") { PeriscopeLogHandler(label: $0, sink: sink, logLevel: .debug) }
        let router = Router()
        router.add(middleware: TracingRequestMiddleware(tracer: tracer, routeStyle: routeStyle))
        router.get("/items/:id") { _, context -> String in
            logger.info("item", metadata: ["id": "\(context.parameters.get("id") ?? "")"])
            tracer.withSpan("load") { _ in logger.debug("loading") }
            return "ok"
        }
        router.get("/fail") { _, _ -> Response in Response(status: .internalServerError) }
        router.get("/throw") { _, _ -> String in throw Teapot() }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) })
        let server = Task { try await app.runService() }
        defer { server.cancel() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        try await body("http://127.0.0.1:\(port)")
    }

    func client() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.tracing.tracer = nil
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    @Test func clientAndServerSpansJoinOneTraceWithOneCorrelationID() async throws {
        let sink = InMemorySink()
        let tracer = PeriscopeTracer(sampler: ParentBasedRatioSampler(ratio: 1), sink: sink)
        let client = client()
        try await withServer(tracer: tracer, sink: sink, routeStyle: .colonParameters) { base in
            var request = ServiceContext.topLevel
            request.correlationID = "corr-1"
            try await tracer.withSpan("caller", context: request) { _ in
                let response = try await client.tracedExecute(
                    HTTPClientRequest(url: base + "/items/7"), timeout: .seconds(5),
                    attributes: ["item": "7"], tracer: tracer)
                #expect(response.status == .ok)
                #expect(response.headers.first(name: "x-correlation-id") == "corr-1")
            }
        }
        try await client.shutdown()

        let caller = try #require(sink.span(named: "caller"))
        let clientSpan = try #require(sink.spans.first { $0.kind == .client })
        let server = try #require(sink.spans.first { $0.kind == .server })
        let load = try #require(sink.span(named: "load"))
        #expect(clientSpan.name == "GET 127.0.0.1")
        #expect(clientSpan.parentSpanID == caller.spanID)
        #expect(clientSpan.attributes["http.response.status_code"] == .int(200))
        #expect(clientSpan.attributes["item"] == .string("7"))
        #expect(clientSpan.attributes["server.address"] == .string("127.0.0.1"))
        #expect(server.name == "GET /items/:id")
        #expect(server.parentSpanID == clientSpan.spanID)
        #expect(server.attributes["http.route"] == .string("/items/:id"))
        #expect(server.attributes["url.path"] == .string("/items/7"))
        #expect(server.attributes["http.request.method"] == .string("GET"))
        #expect(server.attributes["http.response.status_code"] == .int(200))
        #expect(server.status.code == .unset)
        #expect(load.parentSpanID == server.spanID, "handler spans nest under the request")
        #expect(Set(sink.spans.map(\.traceID)).count == 1)
        #expect(sink.spans.allSatisfy { $0.attributes["correlation_id"] == .string("corr-1") })
        #expect(sink.records.count == 2)
        #expect(sink.records.allSatisfy { $0.attributes["correlation_id"] == .string("corr-1") && $0.traceID == server.traceID })
    }

    @Test func serverGeneratesOrAdoptsACorrelationIDAndMarksFailures() async throws {
        let sink = InMemorySink()
        let tracer = PeriscopeTracer(sampler: ParentBasedRatioSampler(ratio: 1), sink: sink)
        let client = client()
        try await withServer(tracer: tracer, sink: sink) { base in
            let adopted = try await client.execute(
                { var r = HTTPClientRequest(url: base + "/items/1"); r.headers.add(name: "X-Request-ID", value: "rid-9"); return r }(),
                timeout: .seconds(5))
            #expect(adopted.headers.first(name: "x-correlation-id") == "rid-9")
            let generated = try await client.execute(HTTPClientRequest(url: base + "/fail"), timeout: .seconds(5))
            #expect(generated.status == .internalServerError)
            #expect(generated.headers.first(name: "x-correlation-id")?.count == 36)
            let thrown = try await client.execute(HTTPClientRequest(url: base + "/throw"), timeout: .seconds(5))
            #expect(thrown.status == .serviceUnavailable)
        }
        try await client.shutdown()

        let servers = sink.spans.filter { $0.kind == .server }
        let items = try #require(servers.first { $0.name == "GET /items/{id}" }, "framework route style: \(servers.map(\.name))")
        #expect(items.parentSpanID == nil)
        #expect(items.attributes["correlation_id"] == .string("rid-9"))
        let fail = try #require(servers.first { $0.name == "GET /fail" })
        #expect(fail.status.code == .error)
        #expect(fail.attributes["http.response.status_code"] == .int(500))
        let thrown = try #require(servers.first { $0.name == "GET /throw" })
        #expect(thrown.status.code == .error)
        #expect(thrown.attributes["http.response.status_code"] == .int(503))
        #expect(thrown.events.map(\.name) == ["exception"])
    }

    @Test func unreachableServerFailsTheClientSpan() async throws {
        let sink = InMemorySink()
        let tracer = PeriscopeTracer(sampler: ParentBasedRatioSampler(ratio: 1), sink: sink)
        let client = client()
        await #expect(throws: (any Error).self) {
            _ = try await client.tracedExecute(
                HTTPClientRequest(url: "http://127.0.0.1:1/x"), timeout: .seconds(5), operationName: "GET /x", tracer: tracer)
        }
        try await client.shutdown()
        let span = try #require(sink.span(named: "GET /x"))
        #expect(span.kind == .client && span.status.code == .error)
        #expect(span.attributes["server.port"] == .int(1))
    }
}
