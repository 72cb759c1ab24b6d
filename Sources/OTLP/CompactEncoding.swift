import Foundation
import PeriscopeModel
import SwiftProtobuf

/// The protobuf forms Periscope stores at rest for log and metric rows: attribute lists and log
/// bodies. Reusing the OTLP messages keeps storage compact and lossless for every value type.
public enum CompactEncoding {
    public static func encode(attributes: [Attribute]) -> [UInt8] {
        guard !attributes.isEmpty else { return [] }
        // A `KeyValueList`, written directly (the same bytes as the generated message's).
        var writer = ProtobufWriter()
        writer.attributes(1, attributes)
        return writer.bytes
    }

    public static func decodeAttributes(_ bytes: [UInt8]) -> [Attribute] {
        guard !bytes.isEmpty,
              let list = try? Opentelemetry_Proto_Common_V1_KeyValueList(serializedBytes: bytes) else { return [] }
        return (try? lenient.attributes(list.values, "stored")) ?? []
    }

    /// A log body (any value type) at rest.
    public static func encode(value: AttributeValue) -> [UInt8] {
        guard value != .empty else { return [] }
        var writer = ProtobufWriter()
        writer.anyValue(value)
        return writer.bytes
    }

    public static func decodeValue(_ bytes: [UInt8]) -> AttributeValue {
        guard !bytes.isEmpty, let value = try? OTLPAnyValue(serializedBytes: bytes) else { return .empty }
        return (try? lenient.value(value, depth: 0, "stored")) ?? .empty
    }

    /// Stored data was validated on ingest; reading it back applies no limits.
    private static let lenient = ProtoToModel(
        limits: OTLPLimits(maxAttributesPerItem: .max, maxValueBytes: .max, maxValueDepth: 64, maxFutureSkewNanos: .max),
        nowUnixNano: 0)
}
