import GRPCCore
import Logging
import PeriscopeModel
import PeriscopeOTLP

/// The OTLP/gRPC collector services (`opentelemetry.proto.collector.{trace,logs,metrics}.v1`,
/// method `Export`), answered by the same receiving code as OTLP/HTTP: a request is decoded
/// with the same limits, handed to `accept`, and its `OTLPAnswer` said in gRPC terms as the
/// OTLP specification asks (https://opentelemetry.io/docs/specs/otlp/#otlpgrpc-response):
/// partial success in the response, `RESOURCE_EXHAUSTED` or `UNAVAILABLE` with a
/// `google.rpc.RetryInfo` when retrying later can succeed, `INVALID_ARGUMENT` when it cannot.
public struct OTLPGRPCService: RegistrableRPCService {
    let ingest: OTLPIngest
    /// Bearer tokens accepted from the `authorization` metadata; `nil` accepts any request.
    let tokens: BearerTokens?
    /// Ingest places, shared with the HTTP receiver: a call beyond `maxConcurrent` is refused
    /// with `RESOURCE_EXHAUSTED` and a RetryInfo, after its message is read (see `refusal`).
    let inFlight: InFlightCounter
    let maxConcurrent: Int
    /// Refused calls whose messages are being read before their answer, at most `maxDraining`.
    let draining = InFlightCounter()
    /// `maxConcurrent` × `drainingPerPlace`.
    let maxDraining: Int
    /// Times the reading of a call's request (`messageTimeout`).
    let timeline: Timeline
    let logger: Logger
    let accept: @Sendable (OTLPIngestRequest) async -> OTLPAnswer

    public init(
        ingest: OTLPIngest, tokens: BearerTokens? = nil, inFlight: InFlightCounter = InFlightCounter(),
        maxConcurrent: Int = ConcurrencyLimit.defaultMaxConcurrent, timeline: Timeline = .continuous, logger: Logger,
        accept: @escaping @Sendable (OTLPIngestRequest) async -> OTLPAnswer
    ) {
        self.ingest = ingest
        self.tokens = tokens
        self.inFlight = inFlight
        self.maxConcurrent = max(1, maxConcurrent)
        let (product, overflow) = self.maxConcurrent.multipliedReportingOverflow(by: Self.drainingPerPlace)
        self.maxDraining = overflow ? .max : product
        self.timeline = timeline
        self.logger = logger
        self.accept = accept
    }

    /// The gRPC method that exports `signal`.
    public static func method(_ signal: Signal) -> MethodDescriptor {
        switch signal {
        case .traces: MethodDescriptor(fullyQualifiedService: "opentelemetry.proto.collector.trace.v1.TraceService", method: "Export")
        case .logs: MethodDescriptor(fullyQualifiedService: "opentelemetry.proto.collector.logs.v1.LogsService", method: "Export")
        case .metrics: MethodDescriptor(fullyQualifiedService: "opentelemetry.proto.collector.metrics.v1.MetricsService", method: "Export")
        }
    }

    public func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        for signal in Signal.allCases {
            router.registerHandler(
                forMethod: Self.method(signal), deserializer: RawMessageDeserializer(), serializer: RawMessageSerializer()
            ) { request, context in
                try await self.handle(signal, request, cancellation: context.cancellation)
            }
        }
    }

    /// One Export call: its token, a place (or the refusal), its request, the answer.
    func handle(
        _ signal: Signal, _ request: StreamingServerRequest<[UInt8]>, cancellation: ServerContext.RPCCancellationHandle? = nil
    ) async throws -> StreamingServerResponse<[UInt8]> {
        // A wrong token is refused before the message is read: it costs the server nothing of
        // the client's (up to 64 MiB) message.
        try authorize(request.metadata)
        guard inFlight.enter(limit: maxConcurrent) else {
            ingest.counters?.refused(signal, status: 503)
            throw await refusal(after: request.messages, cancellation: cancellation)
        }
        defer { inFlight.leave() }
        let message = try Self.message(of: await readRequest(request.messages, cancellation: cancellation))
        return StreamingServerResponse(single: try await export(signal, message))
    }

    /// How long a call's request may take to arrive, its one message and its end. grpc-swift
    /// does not cancel a handler's task at the client's deadline (it cancels the RPC's
    /// cancellation handle, which `readRequest` also watches), so without this a client that
    /// stalls mid-message and set no deadline would keep its place (or its reading place, for a
    /// refusal) as long as its connection lives.
    static let messageTimeout = Duration.seconds(60)

    /// How reading a call's request ended.
    enum RequestRead: Sendable {
        /// One message, then the end of the request.
        case one([UInt8])
        /// The end of the request, without a message.
        case none
        /// A second message: a stream, not an export.
        case tooMany
        /// Neither the end nor a second message within `messageTimeout`.
        case timedOut
        /// The stream failed: too large, reset, cut off, or the call was cancelled.
        case failed(any Error)
    }

    /// Reads a request up to its end, a second message, a failure, `messageTimeout` or the RPC's
    /// cancellation (its deadline passed, the client reset it, or the server is closing the
    /// connection), whichever comes first.
    func readRequest(
        _ messages: RPCAsyncSequence<[UInt8], any Error>, cancellation: ServerContext.RPCCancellationHandle? = nil
    ) async -> RequestRead {
        await withTaskGroup(of: RequestRead?.self) { group in
            group.addTask {
                var first: [UInt8]?
                do {
                    for try await message in messages {
                        if first != nil { return .tooMany }
                        first = message
                    }
                } catch {
                    return .failed(error)
                }
                return first.map { .one($0) } ?? RequestRead.none
            }
            group.addTask { [timeline] in
                // Cancelled: the read ended first, or the call is being cancelled.
                (try? await timeline.sleep(for: Self.messageTimeout)) == nil ? nil : .timedOut
            }
            if let cancellation {
                group.addTask {
                    (try? await cancellation.cancelled) == nil
                        ? nil : .failed(RPCError(code: .cancelled, message: "the call was cancelled before its request arrived"))
                }
            }
            defer { group.cancelAll() }
            for await ended in group {
                if let ended { return ended }
            }
            return .failed(CancellationError())
        }
    }

    /// The message of an export, or the error that says what was wrong with its request.
    static func message(of read: RequestRead) throws -> [UInt8] {
        switch read {
        case .one(let message): return message
        case .none: throw RPCError(code: .invalidArgument, message: "the call ended without a request message; send one")
        case .tooMany: throw RPCError(code: .invalidArgument, message: "more than one request message; Export takes one")
        case .timedOut:
            throw RPCError(code: .deadlineExceeded, message: "the request message did not arrive within \(messageTimeout); retry")
        case .failed(let error): throw error
        }
    }

    /// How many refused calls per ingest place may have their messages read before the answer.
    static let drainingPerPlace = 4

    /// `RESOURCE_EXHAUSTED` with a RetryInfo for a call that found every place taken, said once
    /// the client has sent its whole request.
    ///
    /// An answer that comes before the client's END_STREAM makes gRPC clients reset the stream
    /// (RST_STREAM), and the HTTP/2 server closes a connection that resets more than 200 streams
    /// in 30 s as an attack: GOAWAY ENHANCE_YOUR_CALM with last stream 0, which tells the client
    /// that no call in progress was seen, so it sends again calls that were already accepted and
    /// are stored twice. A client that refusals push back is exactly one that sends many calls, so
    /// its message is read and dropped first. Reading holds up to one message per call, so at most
    /// `maxDraining` refusals read at once, each as `readRequest` does (one message, `messageTimeout`);
    /// beyond that a call is refused at once.
    func refusal(
        after messages: RPCAsyncSequence<[UInt8], any Error>, cancellation: ServerContext.RPCCancellationHandle? = nil
    ) async -> RPCError {
        if draining.enter(limit: maxDraining) {
            defer { draining.leave() }
            // However the reading ends, the refusal says the same, and the client retries.
            _ = await readRequest(messages, cancellation: cancellation)
        }
        return RetryInfoMetadata.error(
            code: .resourceExhausted, message: "more than \(maxConcurrent) exports in progress; retry later", retryAfter: .seconds(1))
    }

    func authorize(_ metadata: Metadata) throws {
        guard let tokens else { return }
        let presented = metadata[stringValues: "authorization"].first(where: { _ in true })
        guard tokens.accept(authorization: presented) else {
            throw RPCError(code: .unauthenticated, message: "missing or invalid bearer token: send metadata 'authorization: Bearer <token>'")
        }
    }

    func export(_ signal: Signal, _ message: [UInt8]) async throws -> ServerResponse<[UInt8]> {
        var claim = RequestMemoryClaim(ingest.budget)
        defer { claim.release() }
        let received = try read(signal, message: message, claim: &claim)
        return ServerResponse(message: try Self.response(signal, to: await accept(received)))
    }

    /// The message as a request, held in `claim`; or `INVALID_ARGUMENT` saying what is wrong with
    /// it, or `UNAVAILABLE` with a RetryInfo when the server's budget for requests is spent.
    func read(_ signal: Signal, message: [UInt8], claim: inout RequestMemoryClaim) throws(RPCError) -> OTLPIngestRequest {
        do throws(OTLPIngestFailure) {
            return try ingest.read(protobuf: message, signal: signal, claim: &claim)
        } catch {
            logger.warning("refused gRPC \(signal.path): \(error.message)")
            ingest.counters?.refused(signal, status: error.status.code)
            if let seconds = error.retryAfterSeconds {
                throw RetryInfoMetadata.error(code: .unavailable, message: error.message, retryAfter: .seconds(seconds))
            }
            throw RPCError(code: .invalidArgument, message: error.message)
        }
    }

    /// The response message for an answer: partial success when accepted, a status error when not.
    static func response(_ signal: Signal, to answer: OTLPAnswer) throws -> [UInt8] {
        switch answer {
        case .accepted(let accepted, _):
            return OTLPEncoder.response(
                signal, rejected: accepted.decoded.rejectedItems, message: accepted.decoded.rejectionReason, format: .protobuf)
        case .failed(let failure, let retryAfter):
            throw Self.error(for: failure, retryAfterSeconds: retryAfter)
        }
    }

    /// A refusal in gRPC terms: retryable failures carry when to retry, so exporters back off.
    static func error(for failure: OTLPIngestFailure, retryAfterSeconds: Int?) -> any Error {
        let delay = Duration.seconds(retryAfterSeconds ?? 1)
        switch failure.status.code {
        case 429:
            return RetryInfoMetadata.error(code: .resourceExhausted, message: failure.message, retryAfter: delay)
        case 500...599:
            return RetryInfoMetadata.error(code: .unavailable, message: failure.message, retryAfter: delay)
        case 401:
            return RPCError(code: .unauthenticated, message: failure.message)
        default:
            return RPCError(code: .invalidArgument, message: failure.message)
        }
    }
}
