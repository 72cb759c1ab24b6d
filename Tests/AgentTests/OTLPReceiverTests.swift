import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
@testable import PeriscopeAgent
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeServer
import Testing

/// A sink that fails as told, or keeps what it was handed.
private struct ScriptedSink: BatchSink {
    let failure: DeliveryError?
    func accept(_ request: OTLPRequestPayload) async throws(DeliveryError) {
        if let failure { throw failure }
    }
}

/// The agent's receiver answers as OTLP clients expect: 200 only once the sink took the batch,
/// 429/503 with `Retry-After` for trouble that passes, 400/413 for a refusal.
@Suite("Agent OTLP receiver")
struct OTLPReceiverTests {
    static func logs() -> [UInt8] {
        OTLPEncoder.encode(.logs([ResourceLogs(resource: Resource(serviceName: "svc"), scopes: [
            ScopeLogs(scope: InstrumentationScope(name: "t"), records: [LogRecord(timeUnixNano: WallClock.nowUnixNano(), body: .string("hi"))]),
        ])]))
    }

    @Test("the sink's outcome becomes the answer", arguments: [
        (nil, HTTPResponse.Status.ok, nil),
        (DeliveryError.queueFull(retryAfterSeconds: 3), .tooManyRequests, "3"),
        (.unavailable(reason: "down", retryAfter: .seconds(7)), .serviceUnavailable, "8"),
        (.storage("disk full"), .serviceUnavailable, "5"),
        (.rejected(status: 413, message: "too large for the queue"), .contentTooLarge, nil),
        (.rejected(status: 400, message: "bad"), .badRequest, nil),
    ] as [(DeliveryError?, HTTPResponse.Status, String?)])
    func answers(failure: DeliveryError?, status: HTTPResponse.Status, retryAfter: String?) async throws {
        let router = Router()
        OTLPReceiver(ingest: OTLPIngest(), sink: ScriptedSink(failure: failure), logger: Logger(label: "receiver")).register(on: router)
        try await Application(router: router).test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/logs", method: .post, headers: [.contentType: OTLPFormat.protobuf.rawValue], body: ByteBuffer(bytes: Self.logs()))
            #expect(response.status == status)
            #expect(response.headers[.retryAfter] == retryAfter)
        }
    }
}
