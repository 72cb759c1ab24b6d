import Foundation
import SwiftProtobuf

/// The protobuf forms Periscope stores at rest: attribute lists and the parts of a span that
/// are read back but never searched (events, links, trace state, status message). Reusing
/// the OTLP messages keeps storage compact and lossless for every value type.
public enum CompactEncoding {
    public static func encode(attributes: [Attribute]) -> [UInt8] {
        guard !attributes.isEmpty else { return [] }
        // A `KeyValueList`, written directly (the same bytes as the generated message's).
        var writer = ProtobufBytes()
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
        var writer = ProtobufBytes()
        writer.anyValue(value)
        return writer.bytes
    }

    public static func decodeValue(_ bytes: [UInt8]) -> AttributeValue {
        guard !bytes.isEmpty, let value = try? OTLPAnyValue(serializedBytes: bytes) else { return .empty }
        return (try? lenient.value(value, depth: 0, "stored")) ?? .empty
    }

    /// Events, links, trace state and status message of a span, or `[]` if it has none.
    public static func encodeDetails(of span: Span) -> [UInt8] {
        guard !span.events.isEmpty || !span.links.isEmpty || !span.traceState.isEmpty || !span.status.message.isEmpty else {
            return []
        }
        var details = OTLPSpan()
        let full = ModelToProto.span(span)
        details.events = full.events
        details.links = full.links
        details.traceState = full.traceState
        details.status.message = span.status.message
        return OTLPEncoder.serialize(details, format: .protobuf)
    }

    public struct SpanDetails: Sendable {
        public var events: [Span.Event] = []
        public var links: [Span.Link] = []
        public var traceState = ""
        public var statusMessage = ""
    }

    public static func decodeDetails(_ bytes: [UInt8]) -> SpanDetails {
        guard !bytes.isEmpty, let span = try? OTLPSpan(serializedBytes: bytes) else { return SpanDetails() }
        var details = SpanDetails()
        details.traceState = span.traceState
        details.statusMessage = span.status.message
        details.events = span.events.map {
            Span.Event(timeUnixNano: $0.timeUnixNano, name: $0.name, attributes: (try? lenient.attributes($0.attributes, "")) ?? [])
        }
        details.links = span.links.compactMap { link in
            guard let traceID = TraceID(bytes: link.traceID), let spanID = SpanID(bytes: link.spanID) else { return nil }
            return Span.Link(traceID: traceID, spanID: spanID, traceState: link.traceState,
                             attributes: (try? lenient.attributes(link.attributes, "")) ?? [])
        }
        return details
    }

    /// Stored data was validated on ingest; reading it back applies no limits.
    private static let lenient = ProtoToModel(
        limits: OTLPLimits(maxAttributesPerItem: .max, maxValueBytes: .max, maxValueDepth: 64, maxFutureSkewNanos: .max),
        nowUnixNano: 0)
}
