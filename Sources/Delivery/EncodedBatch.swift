import Foundation
import PeriscopeModel

/// A batch exactly as it goes on the wire to the collector: OTLP protobuf, zstd-compressed,
/// with the ID the collector de-duplicates on. This is also what the agent's durable queue
/// stores (framed as a `QueueRecord`), so nothing is re-encoded between receiving and shipping.
public struct EncodedBatch: Hashable, Sendable {
    public var id: String
    public var signal: Signal
    public var itemCount: Int
    /// zstd-compressed `Export*ServiceRequest` protobuf.
    public var body: [UInt8]

    public init(id: String, signal: Signal, itemCount: Int, body: [UInt8]) {
        self.id = id
        self.signal = signal
        self.itemCount = itemCount
        self.body = body
    }

    /// The HTTP header that carries a batch's ID to the collector, which stores a batch ID once.
    public static let idHeader = "X-Periscope-Batch-ID"

    /// A fresh batch ID: unique across agents and restarts.
    public static func newID() -> String { UUID().uuidString.lowercased() }
}
