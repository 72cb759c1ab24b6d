import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PeriscopeTelemetry

/// Sends encoded batches to the collector's OTLP endpoint with the batch-ID header, zstd
/// encoding and the bearer token, and classifies the answer for the retry policy.
struct CollectorClient: Sendable {
    let endpoint: String
    let token: String?
    let httpClient: HTTPClient
    var timeout: TimeAmount = .seconds(10)

    /// Statuses worth retrying, per DESIGN §7: overload and gateway trouble.
    static let retryableStatuses: Set<UInt> = [429, 502, 503, 504]
    /// Refusals of the agent, not of the batch: a wrong or rotated token. The batch stays
    /// queued (retried with backoff) until an operator fixes the token, instead of every
    /// batch piling up as a dead letter.
    static let credentialStatuses: Set<UInt> = [401, 403]

    /// The agent's own client: a refused connection fails at once, so the shipper's backoff
    /// and circuit breaker — not the pool's hidden retries — decide when to try again.
    static func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func send(_ batch: EncodedBatch) async throws(DeliveryError) {
        var request = HTTPClientRequest(url: endpoint + batch.signal.path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: OTLPFormat.protobuf.rawValue)
        request.headers.add(name: "Content-Encoding", value: "zstd")
        request.headers.add(name: "X-Periscope-Batch-ID", value: batch.id)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.body = .bytes(ByteBuffer(bytes: batch.body))
        let response: HTTPClientResponse
        let bodyText: String
        do {
            response = try await httpClient.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 64 * 1024)
            bodyText = Self.message(from: body, contentType: response.headers.first(name: "Content-Type"))
        } catch {
            throw .unavailable(reason: "\(error)", retryAfterSeconds: nil)
        }
        let status = response.status.code
        switch status {
        case 200..<300:
            return
        case _ where Self.retryableStatuses.contains(status):
            let retryAfter = response.headers.first(name: "Retry-After").flatMap(Int.init)
            throw .unavailable(reason: "HTTP \(status) \(bodyText)", retryAfterSeconds: retryAfter)
        case _ where Self.credentialStatuses.contains(status):
            throw .unavailable(reason: "the collector refused the agent's token (HTTP \(status)): check --token-file", retryAfterSeconds: 5)
        default:
            throw .rejected(status: Int(status), message: bodyText)
        }
    }

    /// The readable part of an error body: the `google.rpc.Status` message if there is one.
    static func message(from body: ByteBuffer, contentType: String?) -> String {
        let bytes = Array(body.readableBytesView)
        if let format = OTLPFormat(contentType: contentType), let message = OTLPDecoder.statusMessage(bytes, format: format) {
            return message
        }
        return String(decoding: bytes.prefix(512), as: UTF8.self)
    }
}
