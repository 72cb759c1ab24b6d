import Foundation
import PeriscopeTelemetry

/// A batch exactly as it goes on the wire to the collector: OTLP protobuf, zstd-compressed,
/// with the ID the collector de-duplicates on. This is also what the durable queue stores,
/// so nothing is re-encoded between receiving and shipping.
struct EncodedBatch: Hashable, Sendable {
    var id: String
    var signal: Signal
    var itemCount: Int
    /// zstd-compressed `Export*ServiceRequest` protobuf.
    var body: [UInt8]

    /// Encodes one received request on its own.
    init(_ request: OTLPRequestPayload, id: String = EncodedBatch.newID()) {
        self.id = id
        self.signal = request.batch.signal
        self.itemCount = request.batch.itemCount
        self.body = Zstd.compress(request.protobufBody)
    }

    /// A fresh batch ID: unique across agents and restarts.
    static func newID() -> String { UUID().uuidString.lowercased() }

    init(id: String, signal: Signal, itemCount: Int, body: [UInt8]) {
        self.id = id
        self.signal = signal
        self.itemCount = itemCount
        self.body = body
    }
}

/// A decoded request and, when the client sent protobuf, its original bytes.
struct OTLPRequestPayload: Sendable {
    var batch: TelemetryBatch
    var protobuf: [UInt8]?

    /// The request as protobuf: the client's bytes as they came, or JSON re-encoded once.
    var protobufBody: [UInt8] { protobuf ?? OTLPEncoder.encode(batch, format: .protobuf) }
}
