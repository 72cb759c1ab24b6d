import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PeriscopeCompression
import PeriscopeConfig
import PeriscopeModel
import PeriscopeOTLP

/// Size limits on an OTLP/HTTP request body, before and after decompression, and on the bodies
/// of all requests in flight together (`RequestMemoryBudget`).
public struct BodyLimits: Hashable, Sendable {
    public var maxBodyBytes: Int
    public var maxDecompressedBytes: Int
    /// Bodies held at once over all requests, compressed and decompressed; nil: room for four
    /// requests at both limits.
    public var maxInFlightBytes: Int?

    public init(maxBodyBytes: Int = 16 << 20, maxDecompressedBytes: Int = 64 << 20, maxInFlightBytes: Int? = nil) {
        self.maxBodyBytes = maxBodyBytes
        self.maxDecompressedBytes = maxDecompressedBytes
        self.maxInFlightBytes = maxInFlightBytes
    }

    /// `maxInFlightBytes`, or four times both per-request limits.
    public var inFlightBytes: Int {
        if let maxInFlightBytes { return maxInFlightBytes }
        let (sum, overflow) = maxBodyBytes.addingReportingOverflow(maxDecompressedBytes)
        let (product, overflow2) = sum.multipliedReportingOverflow(by: 4)
        return overflow || overflow2 ? .max : product
    }

    /// The least any limit may be: an OTLP request of a few spans needs about this much.
    public static let minimumBytes = 1 << 10
    /// The most any limit may be, far above any use, so that sums of limits never overflow.
    public static let maximumBytes = 1 << 40

    /// Sets the limits from a command line's size texts (`16MiB`), or else a configuration
    /// file's (`16MiB` or a number of bytes); either way each from `minimumBytes` to `maximumBytes`.
    public mutating func set(
        body: (flag: String?, file: String?), decompressed: (flag: String?, file: String?), inFlight: (flag: String?, file: String?),
        names: (body: String, decompressed: String, inFlight: String)
    ) throws(ConfigurationError) {
        if let bytes = try Self.limit(body, name: names.body) { maxBodyBytes = bytes }
        if let bytes = try Self.limit(decompressed, name: names.decompressed) { maxDecompressedBytes = bytes }
        if let bytes = try Self.limit(inFlight, name: names.inFlight) { maxInFlightBytes = bytes }
        let (sum, overflow) = maxBodyBytes.addingReportingOverflow(maxDecompressedBytes)
        let oneRequest = overflow ? Int.max : sum
        if let maxInFlightBytes, maxInFlightBytes < oneRequest {
            throw ConfigurationError(
                "\(names.inFlight) must hold at least one request at both limits (\(names.body) + \(names.decompressed) = \(oneRequest) bytes); got \(maxInFlightBytes)")
        }
    }

    private static func limit(_ value: (flag: String?, file: String?), name: String) throws(ConfigurationError) -> Int? {
        guard let text = value.flag ?? value.file else { return nil }
        guard let bytes = ByteSizeText.parse(text), bytes >= minimumBytes, bytes <= maximumBytes else {
            let given = "'\(text)'"
            throw ConfigurationError("\(name) must be a size from 1KiB to 1TiB, like 16MiB; got \(given)")
        }
        return bytes
    }
}

/// An OTLP/HTTP export request, read and decoded.
public struct OTLPIngestRequest: Sendable {
    public var signal: Signal
    public var format: OTLPFormat
    /// The request body after content decoding, in `format`.
    public var payload: [UInt8]
    public var decoded: OTLPDecoder.Result

    /// The 200 answer OTLP/HTTP prescribes, with partial success for items not stored.
    public var successResponse: Response {
        .bytes(
            OTLPEncoder.response(signal, rejected: decoded.rejectedItems, message: decoded.rejectionReason, format: format),
            contentType: format.rawValue)
    }
}

/// A refused OTLP/HTTP request: the status and one sentence saying what was wrong.
public struct OTLPIngestFailure: Error, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var format: OTLPFormat
    /// Set when the same request can succeed later (`Retry-After`).
    public var retryAfterSeconds: Int?
    /// Answered with `Connection: close`: the rest of the request is not read.
    public var closesConnection = false

    public init(status: HTTPResponse.Status, message: String, format: OTLPFormat, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.message = message
        self.format = format
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The error body OTLP/HTTP prescribes (a `google.rpc.Status`) in the request's format.
    public var response: Response {
        let code: Int32 = status == .unsupportedMediaType || status == .badRequest || status == .contentTooLarge ? 3 : 14
        var response = Response.bytes(status: status, OTLPEncoder.status(code: code, message: message, format: format), contentType: format.rawValue)
        if let retryAfterSeconds { response.headers[.retryAfter] = String(retryAfterSeconds) }
        if closesConnection { response.headers[.connection] = "close" }
        return response
    }
}

/// Reads, size-checks, decompresses and decodes OTLP/HTTP requests — the same rules at the
/// agent's receiver and the collector's ingest, so both answer bad input alike.
/// See https://opentelemetry.io/docs/specs/otlp/#otlphttp
public struct OTLPIngest: Sendable {
    public var decoder: OTLPDecoder
    public var limits: BodyLimits
    /// Bodies of all requests in flight together, shared by a server's protocols; nil: no cap
    /// beyond `limits` per request.
    public var budget: RequestMemoryBudget?
    /// Where stored, rejected and refused requests are counted (`GET /metrics`), if anywhere.
    public var counters: IngestCounters?
    /// How long a body may take before it must keep up `minimumBodyBytesPerSecond`: a client
    /// trickling a byte a second is never idle (`ConcurrencyLimit.idleTimeout`), so without a
    /// rate a few of them would hold every request place for as long as they liked.
    public var bodyGrace: Duration = .seconds(10)
    /// The slowest a body may arrive once `bodyGrace` has passed, counted from its first bytes
    /// (16 KiB/s: a 16 MiB body may take 17 minutes); slower gets 408 and the connection closed.
    /// A sender on a link slower than this (about 130 kbit/s) must send smaller batches.
    public var minimumBodyBytesPerSecond = 16 << 10

    public init(decoder: OTLPDecoder = OTLPDecoder(), limits: BodyLimits = BodyLimits(), budget: RequestMemoryBudget? = nil) {
        self.decoder = decoder
        self.limits = limits
        self.budget = budget
    }

    /// Reads `request`, holding its body in `claim` (which the caller releases once it has answered).
    public func read(_ request: Request, signal: Signal, claim: inout RequestMemoryClaim) async throws(OTLPIngestFailure) -> OTLPIngestRequest {
        let contentType = request.headers[.contentType]
        guard let format = OTLPFormat(contentType: contentType) else {
            throw OTLPIngestFailure(
                status: .unsupportedMediaType,
                message: "unsupported Content-Type '\(contentType ?? "")': send application/x-protobuf or application/json",
                format: .json)
        }
        let encodingHeader = request.headers[.contentEncoding]
        guard let encoding = ContentEncoding(header: encodingHeader) else {
            throw OTLPIngestFailure(
                status: .unsupportedMediaType,
                message: "unsupported Content-Encoding '\(encodingHeader ?? "")': send identity, gzip or zstd", format: format)
        }
        let length = request.headers[.contentLength].flatMap(Int.init)
        if let length, length > limits.maxBodyBytes {
            throw tooLarge(length, format: format)
        }
        // Held before it is read, in one go: the body as declared (without a length, 1 MiB until it
        // is read) and its decompressed form as large as it is likely to be.
        let expected = max(0, length ?? min(limits.maxBodyBytes, 1 << 20))
        let first = expected + likelyOutput(encoding, length ?? 0)
        guard claim.take(first, atLeast: first) != nil else { throw busy(format: format) }
        let body = try await collect(request.body, expected: expected, claim: &claim, format: format)
        var output = likelyOutput(encoding, body.count)
        guard claim.hold(body.count + output) else { throw busy(format: format) }
        let payload: [UInt8]
        do {
            // Past the likely size the hold doubles as the output grows, up to the request's own limit.
            payload = try encoding.decode(body, limit: limits.maxDecompressedBytes) { total in
                guard total > output else { return true }
                let doubled = min(limits.maxDecompressedBytes, max(total, output.multipliedReportingOverflow(by: 2).partialValue))
                guard let taken = claim.grow(doubled - output, atLeast: total - output) else { return false }
                output += taken
                return true
            }
        } catch {
            switch error {
            case .outputRefused:
                throw busy(format: format)
            case .outputLimitExceeded(let limit):
                throw OTLPIngestFailure(
                    status: .contentTooLarge,
                    message: "decompressed body exceeds \(limit) bytes: send smaller batches", format: format)
            case .corrupt, .truncated:
                throw OTLPIngestFailure(status: .badRequest, message: "\(encoding.rawValue) body: \(error)", format: format)
            }
        }
        _ = claim.hold(encoding == .identity ? body.count : body.count + payload.count)
        do {
            let decoded = try decoder.decode(signal, payload, format: format)
            return OTLPIngestRequest(signal: signal, format: format, payload: payload, decoded: decoded)
        } catch {
            throw OTLPIngestFailure(status: .badRequest, message: error.message, format: format)
        }
    }

    /// Decodes an export request that arrived as protobuf bytes, already decompressed (how
    /// OTLP/gRPC delivers it), with the same limits and checks as an HTTP body.
    public func read(protobuf payload: [UInt8], signal: Signal, claim: inout RequestMemoryClaim) throws(OTLPIngestFailure) -> OTLPIngestRequest {
        guard payload.count <= limits.maxDecompressedBytes else {
            throw OTLPIngestFailure(
                status: .contentTooLarge,
                message: "the message exceeds \(limits.maxDecompressedBytes) bytes: send smaller batches", format: .protobuf)
        }
        guard claim.hold(payload.count) else { throw busy(format: .protobuf) }
        do {
            let decoded = try decoder.decode(signal, payload, format: .protobuf)
            return OTLPIngestRequest(signal: signal, format: .protobuf, payload: payload, decoded: decoded)
        } catch {
            throw OTLPIngestFailure(status: .badRequest, message: error.message, format: .protobuf)
        }
    }

    /// Routes `POST /v1/traces`, `/v1/logs` and `/v1/metrics` to `accept`, after reading and
    /// decoding each request here; refused requests are logged and answered without reaching it.
    public func register(
        on router: Router<BasicRequestContext>, logger: Logger,
        accept: @escaping @Sendable (OTLPIngestRequest, Request) async -> OTLPAnswer
    ) {
        for signal in Signal.allCases {
            router.post(RouterPath(signal.path)) { request, _ in
                var claim = RequestMemoryClaim(self.budget)
                defer { claim.release() }
                let received: OTLPIngestRequest
                do throws(OTLPIngestFailure) {
                    received = try await self.read(request, signal: signal, claim: &claim)
                } catch {
                    logger.warning("refused \(signal.path): \(error.message)", metadata: ["status": "\(error.status.code)"])
                    self.counters?.refused(signal, status: error.status.code)
                    return error.response
                }
                return await accept(received, request).response
            }
        }
    }

    /// Reads a body of at most `maxBodyBytes`, holding it in `claim` as it arrives: past what was
    /// held for it (`expected`), the hold doubles, or the request is refused (503) before more is read.
    private func collect(
        _ stream: RequestBody, expected: Int, claim: inout RequestMemoryClaim, format: OTLPFormat
    ) async throws(OTLPIngestFailure) -> [UInt8] {
        var body = [UInt8]()
        body.reserveCapacity(min(expected, limits.maxBodyBytes))
        var heldForBody = expected
        var started: ContinuousClock.Instant?
        let rate = max(1, minimumBodyBytesPerSecond)
        do {
            for try await chunk in stream {
                let total = body.count + chunk.readableBytes
                guard total <= limits.maxBodyBytes else { throw tooLarge(nil, format: format) }
                let now = ContinuousClock.now
                if let started, now - started > bodyGrace + .seconds(total / rate) { throw tooSlow(total, format: format) }
                if started == nil { started = now }
                if total > heldForBody {
                    let doubled = min(limits.maxBodyBytes, max(total, heldForBody.multipliedReportingOverflow(by: 2).partialValue))
                    guard let taken = claim.take(doubled - heldForBody, atLeast: total - heldForBody) else { throw busy(format: format) }
                    heldForBody += taken
                }
                body.append(contentsOf: chunk.readableBytesView)
            }
        } catch let failure as OTLPIngestFailure {
            throw failure
        } catch {
            throw OTLPIngestFailure(status: .badRequest, message: "the request body could not be read: \(error)", format: format)
        }
        return body
    }

    /// What decompressing a body of `bytes` likely gives: 16 times as much, at least 1 MiB, at
    /// most the request's limit; nothing more than the body for identity.
    private func likelyOutput(_ encoding: ContentEncoding, _ bytes: Int) -> Int {
        guard encoding != .identity else { return 0 }
        return min(limits.maxDecompressedBytes, max(1 << 20, bytes.multipliedReportingOverflow(by: 16).partialValue))
    }

    /// The budget for all requests' bodies is spent: a retryable refusal.
    private func busy(format: OTLPFormat) -> OTLPIngestFailure {
        let held = budget.map { "\($0.bytesHeld) bytes, of at most \($0.limit)" } ?? "too many bytes"
        return OTLPIngestFailure(
            status: .serviceUnavailable, message: "the requests in flight hold \(held): retry shortly", format: format, retryAfterSeconds: 1)
    }

    /// A body arriving slower than `minimumBodyBytesPerSecond`: refused, and its connection closed
    /// so the rest of it is not read.
    private func tooSlow(_ received: Int, format: OTLPFormat) -> OTLPIngestFailure {
        var failure = OTLPIngestFailure(
            status: .requestTimeout,
            message: "the body arrived slower than \(minimumBodyBytesPerSecond) bytes per second after its first \(bodyGrace) (\(received) bytes so far): send it at once",
            format: format)
        failure.closesConnection = true
        return failure
    }

    private func tooLarge(_ length: Int?, format: OTLPFormat) -> OTLPIngestFailure {
        let size = length.map { "\($0) bytes" } ?? "the body"
        return OTLPIngestFailure(
            status: .contentTooLarge,
            message: "\(size) exceeds the limit of \(limits.maxBodyBytes) bytes: send smaller batches", format: format)
    }
}
