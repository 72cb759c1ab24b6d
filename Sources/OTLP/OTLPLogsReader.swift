import PeriscopeModel

/// Reads an `ExportLogsServiceRequest` in protobuf straight into the data model, as
/// `OTLPTraceReader` does for spans: the agent decodes every record it receives and the
/// collector every record it stores, and the generic path (SwiftProtobuf's messages, then
/// `ProtoToModel`) was ~10 % of the collector's CPU under mixed load. For anything but a
/// well-formed request within `OTLPLimits` it answers nil and the generic path decides, so both
/// give the same batch or the same error. Field numbers are those of
/// `opentelemetry/proto/logs/v1/logs.proto`.
struct OTLPLogsReader {
    let limits: OTLPLimits
    private let common: OTLPCommonReader

    init(limits: OTLPLimits) {
        self.limits = limits
        common = OTLPCommonReader(limits: limits)
    }

    /// The request's log records, or nil when the generic decoder must decide.
    func resourceLogs(_ bytes: [UInt8]) -> [ResourceLogs]? {
        common.tally.reset()
        return bytes.withUnsafeBytes { buffer in
            var groups = [ResourceLogs]()
            let complete = ProtobufReader.readMessages(of: buffer) { body in
                guard let group = common.group(body, header: common.resource, item: scopeLogs) else { return false }
                groups.append(ResourceLogs(resource: group.0 ?? Resource(), scopes: group.1))
                return true
            }
            return complete ? groups : nil
        }
    }

    private func scopeLogs(_ buffer: UnsafeRawBufferPointer) -> ScopeLogs? {
        common.group(buffer, header: common.scope, item: record).map { ScopeLogs(scope: $0 ?? InstrumentationScope(), records: $1) }
    }

    private func record(_ buffer: UnsafeRawBufferPointer) -> LogRecord? {
        guard common.tally.add() else { return nil }
        var record = LogRecord(timeUnixNano: 0, body: .empty)
        var severity: Int32 = 0
        var sawBody = false
        let complete = ProtobufReader.readFields(of: buffer) { field, reader in
            switch (field.number, field.wireType) {
            case (1, 1):
                guard let value = reader.fixed64() else { return .fail }
                record.timeUnixNano = value
            case (11, 1):
                guard let value = reader.fixed64() else { return .fail }
                record.observedTimeUnixNano = value
            case (2, 0):
                guard let value = reader.varint() else { return .fail }
                severity = Int32(truncatingIfNeeded: value)
            case (3, 2):
                guard let text = reader.string() else { return .fail }
                record.severityText = text
            case (5, 2):
                // A body sent twice merges in the generic decoder: let it decide.
                guard !sawBody, let body = reader.lengthDelimited(), let value = common.anyValue(body, depth: 0) else { return .fail }
                sawBody = true
                record.body = value
            case (6, 2):
                guard let body = reader.lengthDelimited(), let pair = common.keyValue(body) else { return .fail }
                record.attributes.append(pair)
            case (7, 0):
                guard reader.varint() != nil else { return .fail }
            case (8, 5):
                guard let value = reader.fixed32() else { return .fail }
                record.flags = value
            case (9, 2):
                // Empty means none; all zeros is none too; any other length is the generic path's error.
                // The last one wins, as in the generic decoder: an empty one clears an earlier ID.
                guard let bytes = reader.lengthDelimited() else { return .fail }
                if bytes.isEmpty {
                    record.traceID = nil
                } else {
                    guard let id = TraceID(bytes: bytes) else { return .fail }
                    record.traceID = id.isZero ? nil : id
                }
            case (10, 2):
                guard let bytes = reader.lengthDelimited() else { return .fail }
                if bytes.isEmpty {
                    record.spanID = nil
                } else {
                    guard let id = SpanID(bytes: bytes) else { return .fail }
                    record.spanID = id.isZero ? nil : id
                }
            case (12, 2):
                guard let text = reader.string() else { return .fail }
                record.eventName = text
            case (1...3, _), (5...12, _):
                return .fail
            default:
                return .skip
            }
            return .read
        }
        guard complete, (0...24).contains(severity), record.attributes.count <= limits.maxAttributesPerItem else { return nil }
        record.severityNumber = Severity(rawValue: Int(severity))
        return record
    }
}
