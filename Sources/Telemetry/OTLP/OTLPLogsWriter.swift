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

/// A protobuf output buffer: a nested message is written in place and its length prefix
/// inserted after it (a short move of the message's bytes), so sizes are never computed twice.
/// Package-wide: the agent's tailer writes the constant parts of its records with it.
package struct ProtobufBytes {
    package var bytes: [UInt8] = []

    package init() {}

    package mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    package mutating func tag(_ field: Int, _ wireType: Int) { varint(UInt64(field << 3 | wireType)) }

    package mutating func varintField(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, 0)
        varint(value)
    }

    mutating func fixed64Field(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, 1)
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func fixed32Field(_ field: Int, _ value: UInt32) {
        guard value != 0 else { return }
        tag(field, 5)
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    package mutating func stringField(_ field: Int, _ value: String, always: Bool = false) {
        guard always || !value.isEmpty else { return }
        tag(field, 2)
        var value = value
        value.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func bytesField(_ field: Int, _ value: [UInt8], always: Bool = false) {
        guard always || !value.isEmpty else { return }
        tag(field, 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    package mutating func message(_ field: Int, _ body: (inout ProtobufBytes) -> Void) {
        tag(field, 2)
        // One byte holds the length of a message under 128 bytes, the common case; a longer
        // one moves its bytes along by the extra length bytes.
        let lengthAt = bytes.count
        bytes.append(0)
        body(&self)
        let length = bytes.count - lengthAt - 1
        if length < 0x80 {
            bytes[lengthAt] = UInt8(length)
            return
        }
        var extra = 0
        var rest = length >> 7
        while rest > 0 {
            extra += 1
            rest >>= 7
        }
        bytes.insert(contentsOf: repeatElement(0, count: extra), at: lengthAt + 1)
        var value = length
        for index in lengthAt...(lengthAt + extra) {
            bytes[index] = UInt8(truncatingIfNeeded: value) | (index < lengthAt + extra ? 0x80 : 0)
            value >>= 7
        }
    }

    package mutating func attributes(_ field: Int, _ attributes: [Attribute]) {
        for attribute in attributes {
            message(field) { pair in
                pair.stringField(1, attribute.key)
                pair.message(2) { $0.anyValue(attribute.value) }
            }
        }
    }

    /// The members of `AnyValue`'s oneof are written even when they hold their default.
    package mutating func anyValue(_ value: AttributeValue) {
        switch value {
        case .empty: break
        case .string(let text): stringField(1, text, always: true)
        case .bool(let flag):
            tag(2, 0)
            varint(flag ? 1 : 0)
        case .int(let number):
            tag(3, 0)
            varint(UInt64(bitPattern: number))
        case .double(let number):
            tag(4, 1)
            withUnsafeBytes(of: number.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        case .array(let values):
            message(5) { array in for element in values { array.message(1) { $0.anyValue(element) } } }
        case .keyValueList(let pairs):
            message(6) { $0.attributes(1, pairs) }
        case .bytes(let data): bytesField(7, data, always: true)
        }
    }

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
