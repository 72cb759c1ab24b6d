import PeriscopeModel

/// Writes an `ExportLogsServiceRequest` as protobuf bytes straight from the model, without
/// building the generated message types first: the agent's tailer encodes every line it
/// reads, and this path costs a fraction of the generic one. Field numbers are those of
/// `opentelemetry/proto/logs/v1/logs.proto` and `common/v1/common.proto`; defaults are
/// omitted and oneof members always written, as the generated code does, so both decode alike.
enum OTLPLogsWriter {
    static func encode(_ groups: [ResourceLogs]) -> [UInt8] {
        OTLPRequestWriter.encode(groups, bytesPerItem: 200) { $0.logRecord($1) }
    }
}

extension ProtobufWriter {
    mutating func logRecord(_ record: LogRecord) {
        fixed64Field(1, record.timeUnixNano)
        varintField(2, UInt64(bitPattern: Int64(record.severityNumber.rawValue)))
        stringField(3, record.severityText)
        if record.body != .empty { message(5) { $0.anyValue(record.body) } }
        attributes(6, record.attributes)
        fixed32Field(8, record.flags)
        if let traceID = record.traceID { bytesField(9, traceID.bytes, always: true) }
        if let spanID = record.spanID { bytesField(10, spanID.bytes, always: true) }
        fixed64Field(11, record.observedTimeUnixNano)
        stringField(12, record.eventName)
    }
}
