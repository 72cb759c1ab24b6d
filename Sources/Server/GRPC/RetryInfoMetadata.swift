import GRPCCore
import PeriscopeOTLP

/// Tells an OTLP/gRPC client when to retry, in both places clients look: a `google.rpc.Status`
/// with a `google.rpc.RetryInfo` detail in `grpc-status-details-bin` (the OTLP specification,
/// Go and Java exporters) and the bare `RetryInfo` in `google.rpc.retryinfo-bin` (Python's).
enum RetryInfoMetadata {
    static func error(code: RPCError.Code, message: String, retryAfter delay: Duration) -> RPCError {
        let retryInfo = Self.retryInfo(delay)
        var status = ProtobufWriter()
        status.varintField(1, UInt64(code.rawValue))
        status.stringField(2, message)
        status.message(3) { any in
            any.stringField(1, "type.googleapis.com/google.rpc.RetryInfo")
            any.tag(2, 2)
            any.varint(UInt64(retryInfo.count))
            any.bytes.append(contentsOf: retryInfo)
        }
        var metadata = Metadata()
        metadata.addBinary(status.bytes, forKey: "grpc-status-details-bin")
        metadata.addBinary(retryInfo, forKey: "google.rpc.retryinfo-bin")
        return RPCError(code: code, message: message, metadata: metadata)
    }

    /// `RetryInfo { google.protobuf.Duration retry_delay = 1; }`.
    static func retryInfo(_ delay: Duration) -> [UInt8] {
        let (seconds, attoseconds) = delay.components
        var info = ProtobufWriter()
        info.message(1) { duration in
            duration.varintField(1, UInt64(bitPattern: max(seconds, 0)))
            duration.varintField(2, UInt64(max(attoseconds / 1_000_000_000, 0)))
        }
        return info.bytes
    }
}
