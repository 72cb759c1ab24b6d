import Foundation
import PeriscopeModel

/// Reads an `ExportTraceServiceRequest` in protobuf straight into the data model, without
/// building the generated message types first: a collector decodes every span it stores, and
/// this path costs a fraction of the generic one. It handles well-formed requests that follow
/// OTLP's rules and `OTLPLimits`; for anything else (malformed bytes, invalid UTF-8, a rule
/// broken, a singular message repeated) it answers nil and the caller takes the generic path,
/// which decides — so both paths give the same batch or the same error. Field numbers are those
/// of `opentelemetry/proto/trace/v1/trace.proto` and `common/v1/common.proto`.
struct OTLPTraceReader {
    let limits: OTLPLimits
    let nowUnixNano: UInt64

    /// The request's spans, or nil when the generic decoder must decide.
    func resourceSpans(_ bytes: [UInt8]) -> [ResourceSpans]? {
        bytes.withUnsafeBytes { buffer in
            var groups = [ResourceSpans]()
            let complete = ProtobufReader.readMessages(of: buffer) { body in
                guard let group = resourceSpans(body) else { return false }
                groups.append(group)
                return true
            }
            return complete ? groups : nil
        }
    }

    private func resourceSpans(_ buffer: UnsafeRawBufferPointer) -> ResourceSpans? {
        group(buffer, header: resource, item: scopeSpans).map { ResourceSpans(resource: $0 ?? Resource(), scopes: $1) }
    }

    /// The shape `ResourceSpans` and `ScopeSpans` share: a singular message (field 1), a repeated
    /// message (field 2) and a schema URL (field 3).
    private func group<Header, Item>(
        _ buffer: UnsafeRawBufferPointer, header: (UnsafeRawBufferPointer) -> Header?, item: (UnsafeRawBufferPointer) -> Item?
    ) -> (Header?, [Item])? {
        var parsedHeader: Header?
        var items = [Item]()
        let complete = ProtobufReader.readFields(of: buffer) { field, reader in
            switch (field.number, field.wireType) {
            case (1, 2):
                guard parsedHeader == nil, let body = reader.lengthDelimited(), let parsed = header(body) else { return .fail }
                parsedHeader = parsed
            case (2, 2):
                guard let body = reader.lengthDelimited(), let parsed = item(body) else { return .fail }
                items.append(parsed)
            case (3, 2):
                guard reader.string() != nil else { return .fail }
            case (1...3, _):
                return .fail
            default:
                return .skip
            }
            return .read
        }
        return complete ? (parsedHeader, items) : nil
    }

    private func resource(_ buffer: UnsafeRawBufferPointer) -> Resource? {
        var attributes = [Attribute]()
        var dropped: UInt32 = 0
        let complete = ProtobufReader.readFields(of: buffer) { field, reader in
            switch (field.number, field.wireType) {
            case (1, 2):
                guard let body = reader.lengthDelimited(), let pair = keyValue(body) else { return .fail }
                attributes.append(pair)
            case (2, 0):
                guard let value = reader.varint() else { return .fail }
                dropped = UInt32(truncatingIfNeeded: value)
            case (1...2, _):
                return .fail
            default:
                return .skip
            }
            return .read
        }
        guard complete, attributes.count <= limits.maxAttributesPerItem else { return nil }
        return Resource(attributes: attributes, droppedAttributesCount: dropped)
    }

    private func scopeSpans(_ buffer: UnsafeRawBufferPointer) -> ScopeSpans? {
        group(buffer, header: scope, item: span).map { ScopeSpans(scope: $0 ?? InstrumentationScope(), spans: $1) }
    }

    private func scope(_ buffer: UnsafeRawBufferPointer) -> InstrumentationScope? {
        var scope = InstrumentationScope()
        let complete = ProtobufReader.readFields(of: buffer) { field, reader in
            switch (field.number, field.wireType) {
            case (1, 2):
                guard let text = reader.string() else { return .fail }
                scope.name = text
            case (2, 2):
                guard let text = reader.string() else { return .fail }
                scope.version = text
            case (3, 2):
                guard let body = reader.lengthDelimited(), let pair = keyValue(body) else { return .fail }
                scope.attributes.append(pair)
            case (4, 0):
                guard reader.varint() != nil else { return .fail }
            case (1...4, _):
                return .fail
            default:
                return .skip
            }
            return .read
        }
        guard complete, scope.attributes.count <= limits.maxAttributesPerItem else { return nil }
        return scope
    }

    private func span(_ buffer: UnsafeRawBufferPointer) -> Span? {
        var traceID: TraceID?, spanID: SpanID?, parent: SpanID?
        var traceState = "", name = "", statusMessage = ""
        var flags: UInt32 = 0, kind: Int32 = 0, code: Int32 = 0
        var start: UInt64 = 0, end: UInt64 = 0
        var attributes = [Attribute](), events = [Span.Event](), links = [Span.Link]()
        var sawStatus = false
        let complete = ProtobufReader.readFields(of: buffer) { field, reader in
            switch (field.number, field.wireType) {
            case (1, 2):
                // Empty and wrong-length IDs are refused by the generic path with their message.
                guard let bytes = reader.lengthDelimited(), let id = TraceID(bytes: bytes), !id.isZero else { return .fail }
                traceID = id
            case (2, 2):
                guard let bytes = reader.lengthDelimited(), let id = SpanID(bytes: bytes), !id.isZero else { return .fail }
                spanID = id
            case (3, 2):
                guard let text = reader.string() else { return .fail }
                traceState = text
            case (4, 2):
                guard let bytes = reader.lengthDelimited() else { return .fail }
                if bytes.isEmpty {
                    parent = nil
                } else {
                    guard let id = SpanID(bytes: bytes) else { return .fail }
                    parent = id.isZero ? nil : id
                }
            case (5, 2):
                guard let text = reader.string() else { return .fail }
                name = text
            case (6, 0):
                guard let value = reader.varint() else { return .fail }
                kind = Int32(truncatingIfNeeded: value)
            case (7, 1):
                guard let value = reader.fixed64() else { return .fail }
                start = value
            case (8, 1):
                guard let value = reader.fixed64() else { return .fail }
                end = value
            case (9, 2):
                guard let body = reader.lengthDelimited(), let pair = keyValue(body) else { return .fail }
                attributes.append(pair)
            case (10, 0), (12, 0), (14, 0):
                guard reader.varint() != nil else { return .fail }
            case (11, 2):
                guard let body = reader.lengthDelimited(), let event = event(body) else { return .fail }
                events.append(event)
            case (13, 2):
                guard let body = reader.lengthDelimited(), let link = link(body) else { return .fail }
                links.append(link)
            case (15, 2):
                guard !sawStatus, let body = reader.lengthDelimited(), let status = status(body) else { return .fail }
                sawStatus = true
                (statusMessage, code) = status
            case (16, 5):
                guard let value = reader.fixed32() else { return .fail }
                flags = value
            case (1...16, _):
                return .fail
            default:
                return .skip
            }
            return .read
        }
        guard complete, let traceID, let spanID,
              name.utf8.count <= limits.maxValueBytes, let spanKind = Span.Kind(rawValue: Int(kind)),
              attributes.count <= limits.maxAttributesPerItem else { return nil }
        return Span(
            traceID: traceID, spanID: spanID, parentSpanID: parent, traceState: traceState, flags: flags,
            name: name, kind: spanKind, startTimeUnixNano: start, endTimeUnixNano: end,
            attributes: attributes, events: events, links: links,
            status: Span.Status(code: Span.Status.Code(rawValue: Int(code)) ?? .unset, message: statusMessage))
    }

    private func status(_ buffer: UnsafeRawBufferPointer) -> (String, Int32)? {
        var message = "", code: Int32 = 0
        let complete = ProtobufReader.readFields(of: buffer) { field, reader in
            switch (field.number, field.wireType) {
            case (2, 2):
                guard let text = reader.string() else { return .fail }
                message = text
            case (3, 0):
                guard let value = reader.varint() else { return .fail }
                code = Int32(truncatingIfNeeded: value)
            case (2...3, _):
                return .fail
            default:
                return .skip
            }
            return .read
        }
        return complete ? (message, code) : nil
    }

    private func event(_ buffer: UnsafeRawBufferPointer) -> Span.Event? {
        var event = Span.Event(timeUnixNano: 0, name: "")
        let complete = ProtobufReader.readFields(of: buffer) { field, reader in
            switch (field.number, field.wireType) {
            case (1, 1):
                guard let value = reader.fixed64() else { return .fail }
                event.timeUnixNano = value
            case (2, 2):
                guard let text = reader.string() else { return .fail }
                event.name = text
            case (3, 2):
                guard let body = reader.lengthDelimited(), let pair = keyValue(body) else { return .fail }
                event.attributes.append(pair)
            case (4, 0):
                guard reader.varint() != nil else { return .fail }
            case (1...4, _):
                return .fail
            default:
                return .skip
            }
            return .read
        }
        guard complete, event.attributes.count <= limits.maxAttributesPerItem else { return nil }
        return event
    }

    private func link(_ buffer: UnsafeRawBufferPointer) -> Span.Link? {
        var traceID: TraceID?, spanID: SpanID?
        var traceState = ""
        var attributes = [Attribute]()
        let complete = ProtobufReader.readFields(of: buffer) { field, reader in
            switch (field.number, field.wireType) {
            case (1, 2):
                guard let bytes = reader.lengthDelimited(), let id = TraceID(bytes: bytes) else { return .fail }
                traceID = id
            case (2, 2):
                guard let bytes = reader.lengthDelimited(), let id = SpanID(bytes: bytes) else { return .fail }
                spanID = id
            case (3, 2):
                guard let text = reader.string() else { return .fail }
                traceState = text
            case (4, 2):
                guard let body = reader.lengthDelimited(), let pair = keyValue(body) else { return .fail }
                attributes.append(pair)
            case (5, 0):
                guard reader.varint() != nil else { return .fail }
            case (6, 5):
                guard reader.fixed32() != nil else { return .fail }
            case (1...6, _):
                return .fail
            default:
                return .skip
            }
            return .read
        }
        guard complete, let traceID, let spanID, attributes.count <= limits.maxAttributesPerItem else { return nil }
        return Span.Link(traceID: traceID, spanID: spanID, traceState: traceState, attributes: attributes)
    }

    private func keyValue(_ buffer: UnsafeRawBufferPointer, depth: Int = 0) -> Attribute? {
        var key = ""
        var value = AttributeValue.empty
        var sawValue = false
        let complete = ProtobufReader.readFields(of: buffer) { field, reader in
            switch (field.number, field.wireType) {
            case (1, 2):
                guard let text = reader.string() else { return .fail }
                key = text
            case (2, 2):
                guard !sawValue, let body = reader.lengthDelimited(), let parsed = anyValue(body, depth: depth) else { return .fail }
                sawValue = true
                value = parsed
            case (1...2, _):
                return .fail
            default:
                return .skip
            }
            return .read
        }
        guard complete, key.utf8.count <= limits.maxValueBytes else { return nil }
        return Attribute(key, value)
    }

    private func anyValue(_ buffer: UnsafeRawBufferPointer, depth: Int) -> AttributeValue? {
        guard depth < limits.maxValueDepth else { return nil }
        var value = AttributeValue.empty
        var sawValue = false
        let complete = ProtobufReader.readFields(of: buffer) { field, reader in
            if (1...7).contains(field.number) {
                // A oneof set twice merges or replaces in the generic decoder: let it decide.
                guard !sawValue else { return .fail }
                sawValue = true
            }
            switch (field.number, field.wireType) {
            case (1, 2):
                guard let text = reader.string(), text.utf8.count <= limits.maxValueBytes else { return .fail }
                value = .string(text)
            case (2, 0):
                guard let raw = reader.varint() else { return .fail }
                value = .bool(raw != 0)
            case (3, 0):
                guard let raw = reader.varint() else { return .fail }
                value = .int(Int64(bitPattern: raw))
            case (4, 1):
                guard let raw = reader.fixed64() else { return .fail }
                value = .double(Double(bitPattern: raw))
            case (5, 2):
                guard let body = reader.lengthDelimited() else { return .fail }
                var values = [AttributeValue]()
                let elements = ProtobufReader.readMessages(of: body) { inner in
                    guard let parsed = anyValue(inner, depth: depth + 1) else { return false }
                    values.append(parsed)
                    return true
                }
                guard elements, values.count <= limits.maxAttributesPerItem else { return .fail }
                value = .array(values)
            case (6, 2):
                guard let body = reader.lengthDelimited() else { return .fail }
                var list = [Attribute]()
                let pairs = ProtobufReader.readMessages(of: body) { inner in
                    guard let parsed = keyValue(inner, depth: depth + 1) else { return false }
                    list.append(parsed)
                    return true
                }
                guard pairs, list.count <= limits.maxAttributesPerItem else { return .fail }
                value = .keyValueList(list)
            case (7, 2):
                guard let bytes = reader.lengthDelimited(), bytes.count <= limits.maxValueBytes else { return .fail }
                value = .bytes(Array(bytes))
            case (1...7, _):
                return .fail
            default:
                return .skip
            }
            return .read
        }
        return complete ? value : nil
    }
}

