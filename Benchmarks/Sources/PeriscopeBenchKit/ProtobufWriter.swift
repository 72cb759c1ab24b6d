/// A minimal protocol-buffers writer: just the wire types OTLP's trace and log requests use.
///
/// The load generator writes its own bytes rather than linking the main package's codec (not a
/// product) so that what it sends is an independent encoding of the OTLP schema.
public struct ProtobufWriter {
    public init() {}
    /// The encoded message so far.
    public private(set) var bytes: [UInt8] = []

    /// Appends a base-128 varint.
    public mutating func varint(_ value: UInt64) {
        var remaining = value
        while remaining >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        bytes.append(UInt8(remaining))
    }

    /// Appends a field key: field number and wire type (0 varint, 1 fixed64, 2 length, 5 fixed32).
    public mutating func key(_ field: Int, wireType: UInt64) {
        varint(UInt64(field) << 3 | wireType)
    }

    /// A varint field (enums, int64, uint32).
    public mutating func varintField(_ field: Int, _ value: UInt64) {
        key(field, wireType: 0)
        varint(value)
    }

    /// A fixed64 field (timestamps), little-endian.
    public mutating func fixed64Field(_ field: Int, _ value: UInt64) {
        key(field, wireType: 1)
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    /// A length-delimited field holding raw bytes (IDs).
    public mutating func bytesField(_ field: Int, _ value: some Collection<UInt8>) {
        key(field, wireType: 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A length-delimited field holding UTF-8 text.
    public mutating func stringField(_ field: Int, _ value: String) {
        bytesField(field, Array(value.utf8))
    }

    /// A length-delimited field holding a nested message written by `body`.
    public mutating func messageField(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        body(&nested)
        bytesField(field, nested.bytes)
    }
}
