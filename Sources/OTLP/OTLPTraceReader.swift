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
    private let common: OTLPCommonReader

    init(limits: OTLPLimits, nowUnixNano: UInt64) {
        self.limits = limits
        self.nowUnixNano = nowUnixNano
        common = OTLPCommonReader(limits: limits)
    }

    /// The request's spans, or nil when the generic decoder must decide.
    func resourceSpans(_ bytes: [UInt8]) -> [ResourceSpans]? {
        common.tally.reset()
        return bytes.withUnsafeBytes { buffer in
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
        common.group(buffer, header: common.resource, item: scopeSpans).map { ResourceSpans(resource: $0 ?? Resource(), scopes: $1) }
    }


    private func scopeSpans(_ buffer: UnsafeRawBufferPointer) -> ScopeSpans? {
        common.group(buffer, header: common.scope, item: span).map { ScopeSpans(scope: $0 ?? InstrumentationScope(), spans: $1) }
    }


    private func span(_ buffer: UnsafeRawBufferPointer) -> Span? {
        guard common.tally.add() else { return nil }
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
                guard let body = reader.lengthDelimited(), let pair = common.keyValue(body) else { return .fail }
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
        guard common.tally.add() else { return nil }
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
                guard let body = reader.lengthDelimited(), let pair = common.keyValue(body) else { return .fail }
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
        guard common.tally.add() else { return nil }
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
                guard let body = reader.lengthDelimited(), let pair = common.keyValue(body) else { return .fail }
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
}
