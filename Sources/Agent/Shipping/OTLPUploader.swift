import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PeriscopeDelivery
import PeriscopeModel
import PeriscopeOTLP

/// Sends encoded batches to the collector's OTLP endpoint with the batch-ID header, zstd
/// encoding and the bearer token, and classifies the answer for the retry policy.
struct OTLPUploader: Sendable {
    let endpoint: String
    /// `endpoint` as logs show it, without credentials.
    var shownEndpoint: String { EndpointURL.redacted(endpoint) }
    let token: String?
    let httpClient: HTTPClient
    var timeout: TimeAmount = .seconds(10)
    /// Kept between requests; a copy of the uploader shares them.
    let bodies = RequestBodyBuffers()

    /// The agent's own client: a refused connection fails at once, so the shipper's backoff
    /// and circuit breaker — not the pool's hidden retries — decide when to try again.
    static func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Sends `batch`; on acceptance, returns the items the collector rejected all the same
    /// (OTLP partial success: outside its retention, too far ahead), nil when it kept them all.
    @discardableResult
    func send(_ batch: EncodedBatch) async throws(DeliveryError) -> OTLPDecoder.PartialSuccess? {
        var request = HTTPClientRequest(url: endpoint + batch.signal.path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: OTLPFormat.protobuf.rawValue)
        request.headers.add(name: "Content-Encoding", value: "zstd")
        request.headers.add(name: EncodedBatch.idHeader, value: batch.id)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let body = bodies.buffer(holding: batch.body)
        request.body = .bytes(body)
        let response: HTTPClientResponse
        let answer: ByteBuffer
        do {
            response = try await httpClient.execute(request, timeout: timeout)
            answer = try await Self.prefix(of: response.body, upTo: 64 * 1024)
            bodies.recycle(body)
        } catch {
            throw .unavailable(reason: Self.transportFailure(error), retryAfter: nil)
        }
        let status = Int(response.status.code)
        let bodyText = { Self.message(from: answer, contentType: response.headers.first(name: "Content-Type")) }
        switch RetryPolicy.verdict(status: status) {
        case .delivered:
            // A full success is an empty body: only a partial success has anything to parse.
            guard answer.readableBytes > 0 else { return nil }
            let format = OTLPFormat(contentType: response.headers.first(name: "Content-Type")) ?? .protobuf
            return OTLPDecoder.partialSuccess(Array(answer.readableBytesView), signal: batch.signal, format: format)
                .map { OTLPDecoder.PartialSuccess(rejected: $0.rejected, message: ControlCharacters.escaped($0.message)) }
        case .refused:
            throw .rejected(status: status, message: bodyText())
        case .retry:
            let retryAfter = RetryPolicy.retryAfter(response.headers.first(name: "Retry-After"))
            let reason = status == 401 || status == 403
                ? "the collector refused the agent's token (HTTP \(status)): check --token-file"
                : "HTTP \(status) \(bodyText())"
            throw .unavailable(reason: reason, retryAfter: retryAfter ?? (status == 401 || status == 403 ? .seconds(5) : nil))
        }
    }

    /// The first `limit` bytes of a body, reading (and dropping) the rest: an error body of any
    /// size is an answer, not a transport failure.
    static func prefix(of body: HTTPClientResponse.Body, upTo limit: Int) async throws -> ByteBuffer {
        var kept = ByteBuffer()
        for try await var chunk in body where kept.readableBytes < limit {
            let take = min(chunk.readableBytes, limit - kept.readableBytes)
            if let slice = chunk.readSlice(length: take) { kept.writeImmutableBuffer(slice) }
        }
        return kept
    }

    /// The readable part of an error body: the `google.rpc.Status` message if there is one. It
    /// goes to the log and the dead-letter box, and from there to a terminal: control characters
    /// are escaped (the collector, or a proxy before it, is not trusted with the terminal).
    static func message(from body: ByteBuffer, contentType: String?) -> String {
        let bytes = Array(body.readableBytesView)
        if let format = OTLPFormat(contentType: contentType), let message = OTLPDecoder.statusMessage(bytes, format: format) {
            return ControlCharacters.escaped(message)
        }
        return ControlCharacters.escaped(String(decoding: bytes.prefix(512), as: UTF8.self))
    }

    /// A transport error as a sentence: a socket error by its system message (NIO's own text,
    /// "connection reset (error set): Connection refused) (errno: 111)", says "reset" for a
    /// refusal). Where it was sent is the caller's to say (the shipper names the endpoint).
    static func transportFailure(_ error: any Error) -> String {
        if let io = error as? IOError {
            return "\(String(cString: strerror(io.errnoCode))) (errno \(io.errnoCode))"
        }
        return "\(error)"
    }
}
