import Foundation
import PeriscopeCompression
import PeriscopeDelivery
import PeriscopeModel
import PeriscopeOTLP

extension EncodedBatch {
    /// Encodes one received request on its own.
    init(_ request: OTLPRequestPayload, id: String = EncodedBatch.newID()) {
        self.init(id: id, signal: request.batch.signal, itemCount: request.batch.itemCount, body: Zstd.compress(request.protobufBody))
    }
}

/// A decoded request and, when the client sent protobuf, its original bytes.
struct OTLPRequestPayload: Sendable {
    var batch: TelemetryBatch
    var protobuf: [UInt8]?

    /// The request as protobuf: the client's bytes as they came, or JSON re-encoded once.
    var protobufBody: [UInt8] { protobuf ?? OTLPEncoder.encode(batch, format: .protobuf) }
}
