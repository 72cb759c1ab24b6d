import PeriscopeTelemetry

/// Maps one parsed record onto an OTLP `LogRecord` and writes it as protobuf straight from the
/// record's bytes — no `LogRecord`, `String` or `AttributeValue` per field on the way. The
/// well-known fields (`LogLineParser.Key`) become time, severity, body, trace and span ID and
/// the `correlation_id` attribute; every other field is an attribute, in line order; a line
/// that does not parse is the body, marked `periscope.parse_error`, never dropped. Bodies and
/// string attributes are redacted. The bytes are those `ProtobufBytes.logRecord` writes for the
/// same record built in the data model.
struct LogRecordWriter {
    enum Disposition: Equatable { case attribute, mapped, correlation }

    let redactor: Redactor
    let observedUnixNano: UInt64
    /// `log.file.path` and `log.file.name` of the batch's file, redacted once for the batch.
    private let filePath: String
    private let fileName: String
    /// Redactions of the two file attributes, which every record carries.
    private var fileCounts: [Int]
    /// Redactions per rule in this batch, handed to the redactor by `finish`.
    private var counts: [Int]
    /// How each field of the current record is written (storage reused from record to record).
    private var dispositions: [Disposition] = []

    init(redactor: Redactor, observedUnixNano: UInt64, path: String, fileName: String) {
        self.redactor = redactor
        self.observedUnixNano = observedUnixNano
        var fileCounts = [Int](repeating: 0, count: redactor.rules.count)
        filePath = Self.redacted(path, by: redactor, counts: &fileCounts)
        self.fileName = Self.redacted(fileName, by: redactor, counts: &fileCounts)
        self.fileCounts = fileCounts
        counts = [Int](repeating: 0, count: redactor.rules.count)
    }

    /// Adds this batch's redactions (of `records` written records) to the redactor's totals.
    func finish(records: Int) {
        redactor.add(zip(counts, fileCounts).map { $0 + $1 * records })
    }

    /// Writes the fields of one `LogRecord` message (its tag and length are the caller's).
    /// `parsed` is false when the text did not parse by the source's format.
    mutating func write(text: UnsafeBufferPointer<UInt8>, record: RecordBuffer.Record, fields: ParsedFields, parsed: Bool, into out: inout ProtobufBytes) {
        var time: UInt64 = 0
        var severity = Severity.unspecified
        var severityText = ""
        var message: Int?
        var traceID: (high: UInt64, low: UInt64)?
        var spanID: UInt64?
        dispositions.removeAll(keepingCapacity: true)
        if parsed {
            var hasCorrelation = false
            for (index, field) in fields.fields.enumerated() {
                var disposition = Disposition.attribute
                let role = fields.withBytes(field.key) { LogLineParser.Key.role(of: $0) }
                switch role {
                case .time? where time == 0:
                    if let parsed = timestamp(field.value, fields) {
                        time = parsed
                        disposition = .mapped
                    }
                case .level? where severity == .unspecified:
                    if let (number, text) = level(field.value, fields) {
                        severity = number
                        severityText = text
                        disposition = .mapped
                    }
                case .message? where message == nil && !field.value.isNull:
                    message = index
                    disposition = .mapped
                case .traceID? where traceID == nil:
                    if case .string(let range) = field.value, let id = fields.withBytes(range, Self.traceID) {
                        traceID = id
                        disposition = .mapped
                    }
                case .spanID? where spanID == nil:
                    if case .string(let range) = field.value, range.count == 16, let id = fields.withBytes(range, Self.hex), id != 0 {
                        spanID = id
                        disposition = .mapped
                    }
                case .correlationID? where !field.value.isNull && !hasCorrelation:
                    disposition = .correlation
                    hasCorrelation = true
                default:
                    break
                }
                // Once an attribute of that name exists, later correlation keys stay as they are.
                if disposition == .attribute, role == .correlationID, fields.withBytes(field.key, { $0.elementsEqual(Self.correlationKey) }) {
                    hasCorrelation = true
                }
                dispositions.append(disposition)
            }
        }

        out.fixed64Field(1, time)
        out.varintField(2, UInt64(bitPattern: Int64(severity.rawValue)))
        out.stringField(3, severityText)
        out.message(5) { body in
            if let message {
                writeValue(fields.fields[message].value, fields: fields, into: &body)
            } else {
                writeString(text, into: &body)
            }
        }
        for (index, field) in fields.fields.enumerated() where parsed && dispositions[index] != .mapped {
            out.message(6) { pair in
                if dispositions[index] == .correlation {
                    pair.stringField(1, LogLineParser.correlationID)
                    pair.message(2) { value in writeCorrelation(field.value, fields: fields, into: &value) }
                } else {
                    fields.withBytes(field.key) { pair.stringField(1, utf8: $0) }
                    pair.message(2) { value in writeValue(field.value, fields: fields, into: &value) }
                }
            }
        }
        if !parsed { Self.attribute(LogLineParser.parseError, bool: true, into: &out) }
        if let length = record.truncatedFrom {
            Self.attribute(LogLineParser.truncated, bool: true, into: &out)
            out.message(6) { pair in
                pair.stringField(1, LogLineParser.originalLength)
                pair.message(2) { Self.int(Int64(length), into: &$0) }
            }
        }
        if record.invalidUTF8 { Self.attribute(LogLineParser.invalidUTF8, bool: true, into: &out) }
        for (key, value) in [(LogLineParser.filePath, filePath), (LogLineParser.fileName, fileName)] {
            out.message(6) { pair in
                pair.stringField(1, key)
                pair.message(2) { $0.stringField(1, value, always: true) }
            }
        }
        if let traceID {
            out.tag(9, 2)
            out.varint(16)
            Self.appendBigEndian(traceID.high, to: &out)
            Self.appendBigEndian(traceID.low, to: &out)
        }
        if let spanID {
            out.tag(10, 2)
            out.varint(8)
            Self.appendBigEndian(spanID, to: &out)
        }
        out.fixed64Field(11, observedUnixNano)
    }

    // MARK: - Field mapping

    private func timestamp(_ value: ParsedFields.Value, _ fields: ParsedFields) -> UInt64? {
        switch value {
        case .string(let range): return fields.withBytes(range) { TimestampParser.unixNano(utf8: $0) }
        case .int(let number): return TimestampParser.epoch(Double(number), exact: number)
        case .double(let number): return TimestampParser.epoch(number, exact: nil)
        default: return nil
        }
    }

    private func level(_ value: ParsedFields.Value, _ fields: ParsedFields) -> (Severity, String)? {
        switch value {
        case .string(let range): return SeverityParser.severity(text: fields.string(range))
        case .int(let number): return SeverityParser.severity(number: Int(clamping: number))
        case .double(let number): return SeverityParser.severity(number: number)
        default: return nil
        }
    }

    private static let correlationKey = Array(LogLineParser.correlationID.utf8)

    /// 32 hex digits, not all zero.
    private static func traceID(_ hex: UnsafeBufferPointer<UInt8>) -> (high: UInt64, low: UInt64)? {
        guard hex.count == 32, let high = Self.hex(UnsafeBufferPointer(rebasing: hex[0..<16])),
              let low = Self.hex(UnsafeBufferPointer(rebasing: hex[16..<32])), high != 0 || low != 0 else { return nil }
        return (high, low)
    }

    /// Up to 16 hex digits (either case) as a number; nil on any other character. Branch-free
    /// per digit: IDs are 48 of a line's ~250 bytes.
    private static func hex(_ digits: UnsafeBufferPointer<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        var invalid = false
        for byte in digits {
            let digit = byte &- 0x30
            let letter = (byte | 0x20) &- 0x61
            invalid = invalid || (digit >= 10 && letter >= 6)
            value = value << 4 | UInt64((digit < 10 ? digit : letter &+ 10) & 0x0F)
        }
        return invalid ? nil : value
    }

    // MARK: - Values

    /// An `AnyValue`'s fields, strings redacted.
    private mutating func writeValue(_ value: ParsedFields.Value, fields: ParsedFields, into out: inout ProtobufBytes) {
        switch value {
        case .string(let range):
            fields.withBytes(range) { writeString($0, into: &out) }
        case .int(let number):
            Self.int(number, into: &out)
        case .double(let number):
            out.tag(4, 1)
            withUnsafeBytes(of: number.bitPattern.littleEndian) { out.bytes.append(contentsOf: $0) }
        case .bool(let flag):
            out.tag(2, 0)
            out.varint(flag ? 1 : 0)
        case .null:
            break
        case .structured(let value):
            out.anyValue(redactor.redacted(value, counts: &counts) ?? value)
        }
    }

    /// The `correlation_id` attribute's value: always a string (`AttributeValue.text` of the field).
    private mutating func writeCorrelation(_ value: ParsedFields.Value, fields: ParsedFields, into out: inout ProtobufBytes) {
        if case .string(let range) = value {
            fields.withBytes(range) { writeString($0, into: &out) }
        } else {
            var text = fields.attributeValue(value).text
            text.withUTF8 { writeString($0, into: &out) }
        }
    }

    /// A string value; the redactor's one-pass pre-check usually rules every rule out.
    private mutating func writeString(_ utf8: UnsafeBufferPointer<UInt8>, into out: inout ProtobufBytes) {
        if let replaced = redactor.redacted(utf8, counts: &counts) {
            out.stringField(1, replaced, always: true)
        } else {
            out.stringField(1, utf8: utf8, always: true)
        }
    }

    private static func int(_ number: Int64, into out: inout ProtobufBytes) {
        out.tag(3, 0)
        out.varint(UInt64(bitPattern: number))
    }

    private static func attribute(_ key: String, bool: Bool, into out: inout ProtobufBytes) {
        out.message(6) { pair in
            pair.stringField(1, key)
            pair.message(2) { value in
                value.tag(2, 0)
                value.varint(bool ? 1 : 0)
            }
        }
    }

    private static func appendBigEndian(_ value: UInt64, to out: inout ProtobufBytes) {
        withUnsafeBytes(of: value.bigEndian) { out.bytes.append(contentsOf: $0) }
    }

    private static func redacted(_ text: String, by redactor: Redactor, counts: inout [Int]) -> String {
        var text = text
        return text.withUTF8 { redactor.redacted($0, counts: &counts) } ?? text
    }
}

extension ParsedFields.Value {
    var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}
