import Hummingbird
import Logging
import NIOEmbedded
import PeriscopeModel
@testable import PeriscopeServer
import Testing

@Suite("Concurrency limit")
struct ConcurrencyLimitTests {
    /// Holds handlers until opened.
    actor Latch {
        private var waiting: [CheckedContinuation<Void, Never>] = []
        private var isOpen = false

        func wait() async {
            if isOpen { return }
            await withCheckedContinuation { waiting.append($0) }
        }

        func open() {
            isOpen = true
            for waiter in waiting { waiter.resume() }
            waiting.removeAll()
        }
    }

    static func request(_ method: HTTPRequest.Method, _ path: String) -> Request {
        Request(head: HTTPRequest(method: method, scheme: "http", authority: "127.0.0.1", path: path), body: RequestBody(buffer: ByteBuffer()))
    }

    @Test("past the limit an ingest request gets 503 + Retry-After; queries and health checks have their own room; places come back")
    func limitsAndReleases() async throws {
        let counters = IngestCounters()
        let middleware = ConcurrencyLimitMiddleware<BasicRequestContext>(maxConcurrent: 3, counters: counters)
        let context = BasicRequestContext(source: .init(channel: EmbeddedChannel(), logger: Logger(label: "test")))
        let latch = Latch()
        try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await middleware.handle(Self.request(.post, "/v1/traces"), context: context) { _, _ in
                        await latch.wait()
                        return Response(status: .ok)
                    }.status
                }
            }
            while middleware.ingest.current < 3 { await Task.yield() }
            let refused = try await middleware.handle(Self.request(.post, "/v1/logs"), context: context) { _, _ in Response(status: .ok) }
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.headers[.retryAfter] == "1")
            #expect(counters.snapshot.refusedRequests == [.logs: [503: 1]], "counted for /metrics, by its signal")
            let query = try await middleware.handle(Self.request(.get, "/api/v1/services"), context: context) { _, _ in Response(status: .ok) }
            #expect(query.status == .ok, "queries have their own pool")
            let health = try await middleware.handle(Self.request(.post, "/healthz"), context: context) { _, _ in Response(status: .ok) }
            #expect(health.status == .ok)
            await latch.open()
            for try await status in group { #expect(status == .ok) }
        }
        #expect(middleware.ingest.current == 0)
        let thrown = await #expect(throws: CancellationError.self) {
            try await middleware.handle(Self.request(.post, "/v1/traces"), context: context) { _, _ in throw CancellationError() }
        }
        #expect(thrown != nil)
        #expect(middleware.ingest.current == 0, "a handler that throws gives its place back")
        let after = try await middleware.handle(Self.request(.post, "/v1/traces"), context: context) { _, _ in Response(status: .ok) }
        #expect(after.status == .ok)
    }
}
