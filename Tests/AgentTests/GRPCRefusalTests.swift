import GRPCCore
import Logging
import PeriscopeModel
import PeriscopeOTLP
@testable import PeriscopeServer
import PeriscopeTesting
import Testing

/// How an OTLP/gRPC call's request is read (one message, within a time), and how long and by
/// how many calls at once a refused call's message is read before its answer, driven by a
/// manual clock.
@Suite("OTLP/gRPC request reading and refusals")
struct GRPCRefusalTests {
    let clock = ManualClock()

    func service(maxConcurrent: Int = 1) -> OTLPGRPCService {
        OTLPGRPCService(
            ingest: OTLPIngest(limits: BodyLimits()), maxConcurrent: maxConcurrent, timeline: Timeline(clock),
            logger: Logger(label: "grpc-refusal-test")) { .accepted($0) }
    }

    /// A request that yields `messages` and then stays open until `end` is finished.
    static func request(messages: Int) -> (RPCAsyncSequence<[UInt8], any Error>, end: AsyncThrowingStream<[UInt8], any Error>.Continuation) {
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        for _ in 0..<messages { continuation.yield([0x0A, 0x00]) }
        return (RPCAsyncSequence(wrapping: stream), continuation)
    }

    @Test("a refusal is said once the request has ended, with RESOURCE_EXHAUSTED and a RetryInfo, and frees its reading place", .timeLimit(.minutes(1)))
    func answersAtTheEnd() async throws {
        let service = service()
        let (messages, end) = Self.request(messages: 1)
        let answer = Task { await service.refusal(after: messages) }
        try #require(await clock.waitForSleepers(1))
        #expect(service.draining.current == 1, "the message is being read")
        end.finish()
        let error = await answer.value
        #expect(error.code == .resourceExhausted)
        #expect(error.metadata[binaryValues: "grpc-status-details-bin"].contains { _ in true }, "a RetryInfo is attached")
        #expect(service.draining.current == 0)
        #expect(clock.sleeperCount == 0, "the timer is cancelled")
    }

    @Test("a client that stalls mid-request is answered after the drain timeout, and the place comes back; again and again", .timeLimit(.minutes(1)))
    func stalledClient() async throws {
        let service = service()
        for _ in 0..<100 {
            let (messages, end) = Self.request(messages: 0)
            let answer = Task { await service.refusal(after: messages) }
            try #require(await clock.waitForSleepers(1))
            clock.advance(by: OTLPGRPCService.messageTimeout - .milliseconds(1))
            #expect(service.draining.current == 1, "still waiting just before the timeout")
            clock.advance(by: .milliseconds(1))
            #expect(await answer.value.code == .resourceExhausted)
            #expect(service.draining.current == 0)
            end.finish()
        }
    }

    @Test("a second message ends the reading: an export has one, and a stream of them cannot hold the place", .timeLimit(.minutes(1)))
    func secondMessage() async throws {
        let service = service()
        let (messages, end) = Self.request(messages: 2)
        #expect(await service.refusal(after: messages).code == .resourceExhausted)
        #expect(service.draining.current == 0)
        end.finish()
    }

    @Test("past four readers per place a call is refused at once, without reading; an enormous limit does not overflow", .timeLimit(.minutes(1)))
    func boundedReaders() async throws {
        let service = service(maxConcurrent: 2)
        #expect(service.maxDraining == 8)
        var open: [(Task<RPCError, Never>, AsyncThrowingStream<[UInt8], any Error>.Continuation)] = []
        for _ in 0..<8 {
            let (messages, end) = Self.request(messages: 0)
            open.append((Task { await service.refusal(after: messages) }, end))
        }
        try #require(await clock.waitForSleepers(8))
        #expect(service.draining.current == 8)
        let (ninth, ninthEnd) = Self.request(messages: 0)
        #expect(await service.refusal(after: ninth).code == .resourceExhausted, "answered with no end and no time passing")
        ninthEnd.finish()
        for (task, end) in open {
            end.finish()
            _ = await task.value
        }
        #expect(service.draining.current == 0)
        #expect(self.service(maxConcurrent: .max).maxDraining == .max)
    }

    @Test("a request is one message then its end; none, two, a failure and a stall are told apart", .timeLimit(.minutes(1)))
    func requestReading() async throws {
        let service = service()
        let (one, oneEnd) = Self.request(messages: 1)
        oneEnd.finish()
        guard case .one(let message) = await service.readRequest(one) else { Issue.record("one message"); return }
        #expect(message == [0x0A, 0x00])
        #expect(try OTLPGRPCService.message(of: .one(message)) == message)

        let (empty, emptyEnd) = Self.request(messages: 0)
        emptyEnd.finish()
        guard case .none = await service.readRequest(empty) else { Issue.record("no message"); return }
        #expect(throws: RPCError.self) { try OTLPGRPCService.message(of: .none) }

        let (two, twoEnd) = Self.request(messages: 2)
        guard case .tooMany = await service.readRequest(two) else { Issue.record("two messages"); return }
        twoEnd.finish()

        let (failing, failingEnd) = Self.request(messages: 1)
        failingEnd.finish(throwing: CancellationError())
        guard case .failed = await service.readRequest(failing) else { Issue.record("a failure"); return }

        let (stalled, stalledEnd) = Self.request(messages: 1)
        let reading = Task { await service.readRequest(stalled) }
        try #require(await clock.waitForSleepers(1))
        clock.advance(by: OTLPGRPCService.messageTimeout)
        guard case .timedOut = await reading.value else { Issue.record("a stall"); return }
        stalledEnd.finish()
        let timedOut = #expect(throws: RPCError.self) { try OTLPGRPCService.message(of: .timedOut) }
        #expect(timedOut?.code == .deadlineExceeded)
        #expect(clock.sleeperCount == 0)
    }

    static func call(_ messages: RPCAsyncSequence<[UInt8], any Error>) -> StreamingServerRequest<[UInt8]> {
        StreamingServerRequest(metadata: [:], messages: messages)
    }

    @Test("an accepted call whose client stalls mid-message gets DEADLINE_EXCEEDED at the timeout and frees its place; a refusal read beside it ends too; again and again", .timeLimit(.minutes(1)))
    func stalledAcceptedCall() async throws {
        let counters = IngestCounters()
        var ingest = OTLPIngest(limits: BodyLimits())
        ingest.counters = counters
        let service = OTLPGRPCService(
            ingest: ingest, maxConcurrent: 1, timeline: Timeline(clock),
            logger: Logger(label: "grpc-refusal-test")) { .accepted($0) }
        for round in 1...20 {
            let (accepted, acceptedEnd) = Self.request(messages: 0)
            let first = Task { try await service.handle(.logs, Self.call(accepted)) }
            try #require(await clock.waitForSleepers(1))
            #expect(service.inFlight.current == 1, "the stalled call holds the only place")
            let (refused, refusedEnd) = Self.request(messages: 0)
            let second = Task { try await service.handle(.logs, Self.call(refused)) }
            try #require(await clock.waitForSleepers(2))
            #expect(service.draining.current == 1, "the second call's refusal reads its message")
            clock.advance(by: OTLPGRPCService.messageTimeout)
            let firstError = await #expect(throws: RPCError.self) { try await first.value }
            #expect(firstError?.code == .deadlineExceeded)
            let secondError = await #expect(throws: RPCError.self) { try await second.value }
            #expect(secondError?.code == .resourceExhausted)
            #expect(counters.snapshot.refusedRequests[.logs]?[503] == round, "each refusal counted as HTTP's would be")
            #expect(service.inFlight.current == 0 && service.draining.current == 0)
            acceptedEnd.finish()
            refusedEnd.finish()
        }
    }

    @Test("an accepted call is answered once its one message has come; a cancelled RPC stops the reading at once", .timeLimit(.minutes(1)))
    func acceptedAndCancelled() async throws {
        let service = service()
        let logs = OTLPEncoder.encode(.logs([ResourceLogs(resource: Resource(serviceName: "s"), scopes: [
            ScopeLogs(records: [LogRecord(timeUnixNano: 1, severityNumber: .info, body: .string("one"))]),
        ])]))
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        continuation.yield(logs)
        continuation.finish()
        let response = try await service.handle(.logs, Self.call(RPCAsyncSequence(wrapping: stream)))
        guard case .success = response.accepted else { Issue.record("answered with an error: \(response.accepted)"); return }
        #expect(service.inFlight.current == 0)

        let cancellation = ServerContext.RPCCancellationHandle()
        let (stalled, stalledEnd) = Self.request(messages: 0)
        let call = Task { try await service.handle(.logs, Self.call(stalled), cancellation: cancellation) }
        try #require(await clock.waitForSleepers(1))
        cancellation.cancel()
        let error = await #expect(throws: RPCError.self) { try await call.value }
        #expect(error?.code == .cancelled, "no time passed on the clock")
        #expect(service.inFlight.current == 0)
        stalledEnd.finish()
    }
}
