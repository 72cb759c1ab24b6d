import PeriscopeDelivery
import PeriscopeModel
@testable import PeriscopeSDK
import PeriscopeTesting
import Testing

@Suite struct ExporterTests {
    static func span(_ name: String = "s") -> PeriscopeModel.Span {
        let now = WallClock.nowUnixNano()
        return PeriscopeModel.Span(
            traceID: .random(), spanID: .random(), name: name, startTimeUnixNano: now, endTimeUnixNano: now + 1)
    }

    static func record() -> LogRecord {
        LogRecord(timeUnixNano: WallClock.nowUnixNano(), severityNumber: .info, body: .string("hello"))
    }

    /// Loopback port 1: nothing listens there, so every connection is refused at once.
    static let closedPort = OTLPExporter.Configuration(
        endpoint: "http://127.0.0.1:1", spanQueueCapacity: 3, logQueueCapacity: 2, maxBatchSize: 512,
        exportInterval: .milliseconds(50), requestTimeout: .milliseconds(500),
        retry: RetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(50)))

    @Test func fullQueuesDropAndCount() {
        let exporter = OTLPExporter(resource: ProcessResource.make(serviceName: "test"), configuration: Self.closedPort)
        for _ in 0..<5 { exporter.submit(Self.span()) }
        for _ in 0..<5 { exporter.submit(Self.record()) }
        #expect(exporter.droppedSpans == 2)
        #expect(exporter.droppedLogs == 3)
        #expect(exporter.queuedItems == 5)
        #expect(exporter.exportedSpans == 0)
    }

    @Test("with no agent, submit queues without waiting; a flush returns within its deadline and keeps what the agent surely did not take", .timeLimit(.minutes(1)))
    func closedPortNeitherThrowsNorBlocks() async {
        let clock = ManualClock()
        let exporter = OTLPExporter(resource: ProcessResource.make(serviceName: "test"), configuration: Self.closedPort, timeline: Timeline(clock))
        for _ in 0..<3 { exporter.submit(Self.span()) }
        exporter.submit(Self.record())
        #expect(exporter.queuedItems == 4, "submit only queues")

        let (_, elapsed) = await clock.drive(step: .milliseconds(10)) { await exporter.forceFlush(timeout: .seconds(5)) }
        #expect(elapsed <= .seconds(5))
        #expect(exporter.failedExports == 0, "nothing given up: the connection was refused, so the agent has nothing")
        #expect(exporter.exportedSpans == 0)
        #expect(exporter.queuedItems == 4 && exporter.deferredExports >= 1, "kept for the next try")
    }

    @Test("an exporter built directly with a port past 65535 gives its batches up, counted, instead of trapping in the HTTP client", .timeLimit(.minutes(1)))
    func impossiblePortIsGivenUp() async {
        var configuration = Self.closedPort
        configuration.endpoint = "http://127.0.0.1:99999"
        let exporter = OTLPExporter(resource: ProcessResource.make(serviceName: "test"), configuration: configuration)
        for _ in 0..<3 { exporter.submit(Self.span()) }
        exporter.submit(Self.record())
        await exporter.forceFlush(timeout: .seconds(5))
        #expect(exporter.failedExports == 2)
        #expect(exporter.failedSpans == 3 && exporter.failedLogs == 1)
        #expect(exporter.exportedSpans == 0)
    }

    @Test("the run loop exports on its interval, stops on cancellation and flushes within its deadline", .timeLimit(.minutes(1)))
    func runLoopStopsOnCancellationAndFlushesWithinItsDeadline() async {
        let clock = ManualClock()
        let exporter = OTLPExporter(resource: ProcessResource.make(serviceName: "test"), configuration: Self.closedPort, timeline: Timeline(clock))
        let loop = Task { await exporter.run(shutdownTimeout: .seconds(2)) }
        exporter.submit(Self.span())
        // Export intervals (50 ms): the loop tries the span, cannot reach the agent, keeps it
        // queued and tries again after a backoff — again and again, losing nothing.
        _ = await clock.drive(step: .milliseconds(10)) {
            while exporter.deferredExports < 3 { try? await Task.sleep(for: .milliseconds(1)) }
        }
        #expect(exporter.failedExports == 0 && exporter.queuedItems == 1, "kept, not given up, and not doubled")
        exporter.submit(Self.span())
        loop.cancel()
        let (_, elapsed) = await clock.drive(step: .milliseconds(10)) { await loop.value }
        #expect(elapsed <= .seconds(2))
        #expect(exporter.queuedItems == 0)
        #expect(exporter.failedSpans == 2, "both spans were tried in the final flush and given up there")
    }

    @Test func resourceCarriesTheSDKAttributes() {
        let resource = ProcessResource.make(serviceName: "checkout", attributes: ["deployment.environment": "test"])
        #expect(resource.serviceName == "checkout")
        #expect(resource.attributes["telemetry.sdk.name"] == .string("periscope"))
        #expect(resource.attributes["telemetry.sdk.language"] == .string("swift"))
        #expect(resource.attributes["deployment.environment"] == .string("test"))
        guard case .string(let instance)? = resource.attributes["service.instance.id"] else {
            Issue.record("no service.instance.id")
            return
        }
        #expect(instance.count == 36)
    }

    @Test func backoffIsCappedAndHonoursRetryAfter() {
        let policy = RetryPolicy(maxAttempts: 5, initialBackoff: .milliseconds(100), maxBackoff: .seconds(1))
        for retry in 1...30 { #expect(policy.backoff(retry: retry) <= .seconds(1)) }
        #expect(policy.backoff(retry: 1, retryAfter: .seconds(30)) == .seconds(1))
        #expect(RetryPolicy.verdict(status: 503) == .retry)
        #expect(RetryPolicy.verdict(status: 400) == .refused)
    }

    @Test func periscopeRejectsABadEndpointWithoutBootstrapping() {
        #expect(throws: PeriscopeError.self) {
            _ = try Periscope(configuration: PeriscopeConfiguration(serviceName: "x", agentEndpoint: "127.0.0.1:4318"))
        }
        // A port past 65535 used to pass here and trap in the HTTP client at the first export, killing the service.
        for endpoint in ["http://127.0.0.1:99999", "http://127.0.0.1:65536", "http://127.0.0.1:0", "https://agent:123456/"] {
            #expect(throws: PeriscopeError.self, "\(endpoint)") {
                _ = try Periscope(configuration: PeriscopeConfiguration(serviceName: "x", agentEndpoint: endpoint))
            }
        }
        #expect(EndpointURL.problem("http://127.0.0.1:65535") == nil && EndpointURL.problem("https://agent") == nil)
        #expect(EndpointURL.problem("http://127.0.0.1:99999") == "port 99999 is not between 1 and 65535")
        #expect(EndpointURL.problem("ftp://x") != nil && EndpointURL.problem("http://") != nil)
        // Too large for an `Int`: URLComponents has no port, and the client would have used port 80.
        #expect(EndpointURL.problem("http://h:99999999999999999999/v1") != nil)
        #expect(EndpointURL.problem("http://[::1]:4318") == nil && EndpointURL.problem("http://u:p@h:4318/x") == nil)
        #expect(EndpointURL.problem("http://[::1]") == nil && EndpointURL.problem("HTTP://H:0080") == nil)
        // As logs and errors show a URL: no password, and by default no user (it may be a token).
        #expect(EndpointURL.redacted("http://u:hunter2@h:4318/x") == "http://***@h:4318/x")
        #expect(EndpointURL.redacted("http://token@h") == "http://***@h")
        #expect(EndpointURL.redacted("http://h:4318") == "http://h:4318")
        #expect(EndpointURL.redacted("postgres://app:hunter2@db/x", hidingUser: false) == "postgres://app:***@db/x")
        #expect(EndpointURL.redacted("postgres://app@db/x", hidingUser: false) == "postgres://app@db/x")
        for text in ["http://u:hunter2@h:99 9", "u:hunter2@h:4318", "https//u:hunter2@h", "http://u:hunter2@@h", "postgres://u:hunter2@\u{337}h/"] {
            #expect(!EndpointURL.redacted(text).contains("hunter2"), "\(text)")
        }
        #expect(EndpointURL.redacted("u:hunter2@h:4318") == "***@h:4318")
        #expect(EndpointURL.redacted("localhost:4318") == "localhost:4318", "no credentials to hide")
        #expect(EndpointURL.redacted("postgres://u@h/?password=hunter2", hidingUser: false) == "postgres://u@h/?***")
    }

    @Test(.timeLimit(.minutes(1)))
    func queuedSpansLeaveInBatchesOfMaxBatchSize() async {
        var configuration = Self.closedPort
        configuration.spanQueueCapacity = 1_100
        let exporter = OTLPExporter(resource: ProcessResource.make(serviceName: "test"), configuration: configuration)
        for _ in 0..<1_100 { exporter.submit(Self.span()) }
        // The final flush gives up what the agent did not take, batch by batch.
        let loop = Task { await exporter.run(shutdownTimeout: .seconds(10)) }
        loop.cancel()
        await loop.value
        #expect(exporter.failedExports == 3, "512 + 512 + 76")
        #expect(exporter.failedSpans == 1_100)
        #expect(exporter.droppedSpans == 0)
        #expect(exporter.queuedItems == 0)
    }

    @Test func bufferKeepsBatchesInOrderAndRefusesPastCapacity() {
        let buffer = BoundedBuffer<Int>(capacity: 7, batchSize: 3)
        let outcomes = (0..<8).map { buffer.append($0) }
        #expect(outcomes == [.queued, .queued, .filledBatch, .queued, .queued, .filledBatch, .queued, .full])
        #expect(buffer.count == 7)
        #expect(buffer.takeAll() == [[0, 1, 2], [3, 4, 5], [6]])
        #expect(buffer.count == 0)
        #expect(buffer.takeAll().isEmpty)
        #expect(buffer.append(7) == .queued)
        #expect(buffer.takeAll() == [[7]])
    }

    @Test func restoredBatchesComeFirstAndCountPastCapacityUpToTwice() {
        let buffer = BoundedBuffer<Int>(capacity: 4, batchSize: 2)
        for value in 0..<4 { _ = buffer.append(value) }
        let taken = buffer.takeAll()
        #expect(taken == [[0, 1], [2, 3]])
        for value in 4..<8 { _ = buffer.append(value) }
        #expect(taken.reversed().allSatisfy { buffer.restore($0) })
        #expect(buffer.restore([]))
        #expect(buffer.count == 8, "restored items count even past capacity; they were accepted once")
        #expect(!buffer.restore([99]), "never more than twice the capacity")
        #expect(buffer.append(8) == .full)
        #expect(buffer.takeAll() == [[0, 1], [2, 3], [4, 5], [6, 7]])
        #expect(buffer.append(9) == .queued)

        let unlimited = BoundedBuffer<Int>(capacity: .max, batchSize: 2)
        _ = unlimited.append(1)
        #expect(unlimited.restore([0]), "a capacity of Int.max does not overflow the bound")
        #expect(unlimited.takeAll() == [[0], [1]])
    }

    @Test("a batch size of Int.max (or larger than the queue) reserves nothing out of reach and batches by the queue")
    func hugeBatchSize() {
        let huge = BoundedBuffer<Int>(capacity: .max, batchSize: .max)
        for value in 0..<10_000 { #expect(huge.append(value) == .queued) }
        #expect(huge.takeAll() == [Array(0..<10_000)], "one open batch, grown past the reservation as it filled")
        // A queue smaller than a batch: full at its capacity, which wakes the export loop.
        // Again and again: every round fills at the capacity, refuses past it, and empties whole.
        let small = BoundedBuffer<Int>(capacity: 3, batchSize: 1_000_000_000)
        for round in 0..<1_000 {
            let base = 4 * round
            #expect((base..<(base + 4)).map { small.append($0) } == [.queued, .queued, .filledBatch, .full], "round \(round)")
            #expect(small.takeAll() == [[base, base + 1, base + 2]], "round \(round)")
            #expect(small.count == 0)
        }
    }

    @Test("an export interval of zero waits a millisecond between sends instead of spinning", .timeLimit(.minutes(1)))
    func zeroIntervalDoesNotSpin() async {
        let clock = ManualClock()
        var configuration = Self.closedPort
        configuration.exportInterval = .zero
        let exporter = OTLPExporter(resource: ProcessResource.make(serviceName: "test"), configuration: configuration, timeline: Timeline(clock))
        let loop = Task { await exporter.run(shutdownTimeout: .seconds(2)) }
        #expect(await clock.waitForSleepers(1), "the interval waits on the clock (a zero wait would return at once, for ever)")
        // Round after round: the span is tried (to a closed port, and kept for the next try),
        // and the loop goes back to waiting on the clock.
        exporter.submit(Self.span())
        for round in 1...5 {
            _ = await clock.drive(step: .milliseconds(1)) {
                while exporter.deferredExports < round { try? await Task.sleep(for: .milliseconds(1)) }
            }
            #expect(exporter.deferredExports >= round && exporter.queuedItems == 1)
            #expect(await clock.waitForSleepers(1), "round \(round): the loop waits again")
        }
        loop.cancel()
        _ = await clock.drive(step: .milliseconds(10)) { await loop.value }
    }
}
