import PeriscopeModel

/// Writes an `ExportTraceServiceRequest` as protobuf bytes straight from the model, like
/// `OTLPLogsWriter` does for logs: the SDK's exporter encodes every finished span, and the
/// generated message types cost several allocations per span (IDs as `Data`, message storage).
/// Field numbers are those of `opentelemetry/proto/trace/v1/trace.proto`; defaults are omitted
/// as the generated code omits them, so both produce the same bytes.
enum OTLPTracesWriter {
    static func encode(_ groups: [ResourceSpans]) -> [UInt8] {
        OTLPRequestWriter.encode(groups, bytesPerItem: 128) { $0.span($1) }
    }
}

extension ProtobufWriter {
    /// A trace ID as a bytes field of its 16 big-endian bytes, with no intermediate array.
    mutating func traceIDField(_ field: Int, _ id: TraceID) {
        tag(field, 2)
        bytes.append(16)
        withUnsafeBytes(of: id.high.bigEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: id.low.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// A span ID as a bytes field of its 8 big-endian bytes.
    mutating func spanIDField(_ field: Int, _ id: SpanID) {
        tag(field, 2)
        bytes.append(8)
        withUnsafeBytes(of: id.value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func span(_ span: Span) {
        traceIDField(1, span.traceID)
        spanIDField(2, span.spanID)
        stringField(3, span.traceState)
        if let parent = span.parentSpanID { spanIDField(4, parent) }
        stringField(5, span.name)
        varintField(6, UInt64(span.kind.rawValue))
        fixed64Field(7, span.startTimeUnixNano)
        fixed64Field(8, span.endTimeUnixNano)
        attributes(9, span.attributes)
        for event in span.events {
            message(11) { out in
                out.fixed64Field(1, event.timeUnixNano)
                out.stringField(2, event.name)
                out.attributes(3, event.attributes)
            }
        }
        for link in span.links {
            message(13) { out in
                out.traceIDField(1, link.traceID)
                out.spanIDField(2, link.spanID)
                out.stringField(3, link.traceState)
                out.attributes(4, link.attributes)
            }
        }
        if span.status.code != .unset || !span.status.message.isEmpty {
            message(15) { out in
                out.stringField(2, span.status.message)
                out.varintField(3, UInt64(span.status.code.rawValue))
            }
        }
        fixed32Field(16, span.flags)
    }
}
