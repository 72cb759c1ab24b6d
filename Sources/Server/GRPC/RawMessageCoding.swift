import GRPCCore

/// gRPC messages handed over as their protobuf bytes: ingest decodes them with the same fast
/// readers as OTLP/HTTP bodies, instead of into generated messages first.
struct RawMessageDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

/// Answers already encoded as protobuf bytes.
struct RawMessageSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }
}
