import PeriscopeConfig
import PeriscopeModel
import PeriscopeOTLP

/// Maps one parsed record onto an OTLP `LogRecord` and writes it as protobuf straight from the
/// record's bytes — no `LogRecord`, `String` or `AttributeValue` per field on the way. The
/// well-known fields (`LogLineParser.Key`) become time, severity, body, trace and span ID and
/// the `correlation_id` attribute; every other field is an attribute, in line order; a line
/// that does not parse is the body, marked `periscope.parse_error`, never dropped. Bodies and
/// string attributes are redacted. The bytes are those `ProtobufWriter.logRecord` writes for the
/// same record built in the data model.
///
/// `plan` maps and sizes a record, `write` then writes exactly that many bytes.
package struct LogRecordWriter {
    package enum Disposition: Equatable { case attribute, mapped, correlation }

    /// How one field is written.
    private struct Plan {
        var disposition: Disposition
        /// Bytes of the value's `AnyValue` message content.
        var valueSize: Int
        /// Index in `replacements` of the value's content when it is not the field's own (redacted, or built in the data model).
        var replacement: Int?
    }

    package let redactor: Redactor
    private let roles = LogLineParser.Key.RoleTable.shared
    package let observedUnixNano: UInt64
    /// Record times used as they are; others are replaced by the observed time (`LogTimeBounds`).
    package let acceptedTimes: ClosedRange<UInt64>
    /// The attributes every record of the batch ends with, encoded once: `log.file.path` and `log.file.name`, redacted.
    private let fileAttributes: [UInt8]
    /// Redactions of the two file attributes, which every record carries.
    private var fileCounts: [Int]
    /// Redactions per rule in this batch, handed to the redactor by `finish`.
    private var counts: [Int]

    // The current record's plan (storage reused from record to record).
    private var plans: [Plan] = []
    private var replacements: [[UInt8]] = []
    private var time: UInt64 = 0
    /// A time field was there but out of range or unreadable, and no other one was usable.
    package private(set) var timeUnusable = false
    /// The first 19 bytes of the last RFC 3339 time read, and their seconds (`rfc3339OrOther`).
    private struct TimePrefix {
        var head: UInt64
        var middle: UInt64
        var tail: UInt32
        var seconds: Int
    }
    private var timePrefix: TimePrefix?
    private var severity = Severity.unspecified
    private var severityText: Range<Int>?
    private var severityName = ""
    private var body: Plan = Plan(disposition: .mapped, valueSize: 0)
    private var message: Int?
    private var traceID: (high: UInt64, low: UInt64)?
    private var spanID: UInt64?
    private var parsed = true
    private var truncatedFrom: Int?
    private var invalidUTF8 = false

    package init(redactor: Redactor, observedUnixNano: UInt64, timeBounds: LogTimeBounds = LogTimeBounds(), path: String, fileName: String) {
        self.redactor = redactor
        self.observedUnixNano = observedUnixNano
        acceptedTimes = timeBounds.accepted(around: observedUnixNano)
        var fileCounts = [Int](repeating: 0, count: redactor.rules.count)
        var attributes = ProtobufWriter()
        attributes.attributes(6, [
            Attribute(LogLineParser.filePath, .string(Self.redacted(path, by: redactor, counts: &fileCounts))),
            Attribute(LogLineParser.fileName, .string(Self.redacted(fileName, by: redactor, counts: &fileCounts))),
        ])
        fileAttributes = attributes.bytes
        self.fileCounts = fileCounts
        counts = [Int](repeating: 0, count: redactor.rules.count)
    }

    /// Adds this batch's redactions (of `records` written records) to the redactor's totals.
    package func finish(records: Int) {
        redactor.add(zip(counts, fileCounts).map { $0 + $1 * records })
    }

    // MARK: - Planning

    /// Maps the fields of one record (`parsed` is false when its text did not parse by the
    /// source's format) and returns the size of its `LogRecord` message content.
    package mutating func plan(text: UnsafeBufferPointer<UInt8>, record: RecordBuffer.Record, fields: ParsedFields, parsed: Bool) -> Int {
        plans.removeAll(keepingCapacity: true)
        replacements.removeAll(keepingCapacity: true)
        (time, timeUnusable, severity, severityText, severityName) = (0, false, .unspecified, nil, "")
        (message, traceID, spanID) = (nil, nil, nil)
        (self.parsed, truncatedFrom, invalidUTF8) = (parsed, record.truncatedFrom, record.invalidUTF8)
        if parsed { mapFields(fields) }
        if time != 0 { timeUnusable = false }

        var size = time != 0 ? 9 : 0
        if severity.rawValue != 0 { size += 1 + PresizedProtobufWriter.varintSize(UInt64(bitPattern: Int64(severity.rawValue))) }
        let severityTextCount = severityText?.count ?? severityName.utf8.count
        if severityTextCount > 0 { size += PresizedProtobufWriter.lengthDelimitedSize(3, severityTextCount) }
        if let message {
            body = plans[message]
            body.disposition = .mapped
        } else {
            body = planString(text)
        }
        size += PresizedProtobufWriter.lengthDelimitedSize(5, body.valueSize)
        for index in plans.indices where plans[index].disposition != .mapped {
            let keyCount = plans[index].disposition == .correlation ? LogLineParser.correlationID.utf8.count : fields.fields[index].key.count
            size += PresizedProtobufWriter.lengthDelimitedSize(6, Self.keyValueSize(keyCount: keyCount, valueSize: plans[index].valueSize))
        }
        if !parsed { size += Self.parseErrorAttribute.count }
        if let truncatedFrom {
            size += Self.truncatedAttribute.count
            size += PresizedProtobufWriter.lengthDelimitedSize(6, Self.keyValueSize(
                keyCount: LogLineParser.originalLength.utf8.count, valueSize: Self.intSize(Int64(truncatedFrom))))
        }
        if invalidUTF8 { size += Self.invalidUTF8Attribute.count }
        if timeUnusable { size += Self.timeUnusableAttribute.count }
        size += fileAttributes.count
        if traceID != nil { size += 18 }
        if spanID != nil { size += 10 }
        if observedUnixNano != 0 { size += 9 }
        return size
    }

    private mutating func mapFields(_ fields: ParsedFields) {
        var hasCorrelation = false
        for (index, field) in fields.fields.enumerated() {
            var disposition = Disposition.attribute
            let role = fields.withBytes(field.key) { roles.role(of: $0) }
            switch role {
            case .time? where time == 0:
                if let parsed = timestamp(field.value, fields), acceptedTimes.contains(parsed) {
                    time = parsed
                    disposition = .mapped
                } else if !field.value.isNull {
                    timeUnusable = true
                }
            case .level? where severity == .unspecified:
                if mapLevel(field.value, fields) { disposition = .mapped }
            case .message? where message == nil && !field.value.isNull:
                message = index
            case .traceID? where traceID == nil:
                if case .string(let range) = field.value, let id = fields.withBytes(range, Self.traceID) {
                    traceID = id
                    disposition = .mapped
                }
            case .spanID? where spanID == nil:
                if case .string(let range) = field.value, let id = fields.withBytes(range, HexDigits.value16), id != 0 {
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
            if disposition == .mapped {
                plans.append(Plan(disposition: .mapped, valueSize: 0))
                continue
            }
            // Only what is written is redacted (and counted): the message, correlation ID and attributes.
            var plan = disposition == .correlation ? planCorrelation(field.value, fields) : planValue(field.value, fields)
            plan.disposition = message == index ? .mapped : disposition
            plans.append(plan)
        }
    }

    /// Sizes a value, redacting strings and encoding structured values aside.
    private mutating func planValue(_ value: ParsedFields.Value, _ fields: ParsedFields) -> Plan {
        switch value {
        case .string(let range): return fields.withBytes(range) { planString($0) }
        case .int(let number): return Plan(disposition: .attribute, valueSize: Self.intSize(number))
        case .double: return Plan(disposition: .attribute, valueSize: 9)
        case .bool: return Plan(disposition: .attribute, valueSize: 2)
        case .null: return Plan(disposition: .attribute, valueSize: 0)
        case .structured(let index):
            let value = fields.structured[index]
            var content = ProtobufWriter()
            content.anyValue(TailBatchEncoder.limits.fitted(redactor.redacted(value, counts: &counts) ?? value))
            return replace(with: content.bytes)
        }
    }

    /// The `correlation_id` attribute's value: always a string (`AttributeValue.text` of the field).
    private mutating func planCorrelation(_ value: ParsedFields.Value, _ fields: ParsedFields) -> Plan {
        if case .string = value { return planValue(value, fields) }
        var text = fields.attributeValue(value).text
        let plan = text.withUTF8 { planString($0) }
        guard plan.replacement == nil else { return plan }
        return replace(with: Self.stringContent(text))
    }

    /// A string value; the redactor's one-pass pre-check usually rules every rule out.
    private mutating func planString(_ utf8: UnsafeBufferPointer<UInt8>) -> Plan {
        if let redacted = redactor.redacted(utf8, counts: &counts) { return replace(with: Self.stringContent(TailBatchEncoder.limits.cut(redacted))) }
        // Longer than a receiver takes (joined multiline records, U+FFFD repairs): cut.
        if utf8.count > TailBatchEncoder.maxValueBytes {
            return replace(with: Self.stringContent(TailBatchEncoder.limits.cut(String(decoding: utf8, as: UTF8.self))))
        }
        return Plan(disposition: .attribute, valueSize: PresizedProtobufWriter.lengthDelimitedSize(1, utf8.count))
    }

    private mutating func replace(with content: [UInt8]) -> Plan {
        replacements.append(content)
        return Plan(disposition: .attribute, valueSize: content.count, replacement: replacements.count - 1)
    }

    private mutating func timestamp(_ value: ParsedFields.Value, _ fields: ParsedFields) -> UInt64? {
        switch value {
        case .string(let range): return fields.withBytes(range) { rfc3339OrOther($0) }
        case .int(let number): return TimestampText.epoch(Double(number), exact: number)
        case .double(let number): return TimestampText.epoch(number, exact: nil)
        default: return nil
        }
    }

    /// `TimestampText.unixNano(utf8:)`, reading the date and time to the second only when they
    /// differ from the last RFC 3339 time's (lines of one second share them).
    private mutating func rfc3339OrOther(_ utf8: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard utf8.count >= 19, let base = utf8.baseAddress else { return TimestampText.unixNano(utf8: utf8) }
        let raw = UnsafeRawPointer(base)
        let prefix = TimePrefix(
            head: raw.loadUnaligned(as: UInt64.self), middle: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            tail: raw.loadUnaligned(fromByteOffset: 15, as: UInt32.self), seconds: 0)
        if let last = timePrefix, last.head == prefix.head, last.middle == prefix.middle, last.tail == prefix.tail {
            return TimestampText.rfc3339(utf8, prefixSeconds: last.seconds) ?? TimestampText.unixNano(utf8: utf8)
        }
        guard let seconds = TimestampText.rfc3339Seconds(utf8) else { return TimestampText.unixNano(utf8: utf8) }
        timePrefix = TimePrefix(head: prefix.head, middle: prefix.middle, tail: prefix.tail, seconds: seconds)
        return TimestampText.rfc3339(utf8, prefixSeconds: seconds) ?? TimestampText.unixNano(utf8: utf8)
    }

    /// Takes the severity from a level field; false when it is no level.
    private mutating func mapLevel(_ value: ParsedFields.Value, _ fields: ParsedFields) -> Bool {
        switch value {
        case .string(let range):
            guard let number = fields.withBytes(range, SeverityParser.severity(utf8:)) else { return false }
            (severity, severityText) = (number, range)
        case .int(let number):
            guard let (number, name) = SeverityParser.severity(number: Int(clamping: number)) else { return false }
            (severity, severityName) = (number, name)
        case .double(let number):
            guard let (number, name) = SeverityParser.severity(number: number) else { return false }
            (severity, severityName) = (number, name)
        default:
            return false
        }
        return true
    }

    // MARK: - Writing

    /// Writes the record planned last: exactly the size `plan` returned.
    package mutating func write(text: UnsafeBufferPointer<UInt8>, fields: ParsedFields, into out: inout PresizedProtobufWriter) {
        if time != 0 {
            out.tag(1, 1)
            out.fixed64(time)
        }
        if severity.rawValue != 0 {
            out.tag(2, 0)
            out.varint(UInt64(bitPattern: Int64(severity.rawValue)))
        }
        if let severityText {
            fields.withBytes(severityText) { out.lengthDelimited(3, $0) }
        } else if !severityName.isEmpty {
            severityName.withUTF8 { out.lengthDelimited(3, $0) }
        }
        out.tag(5, 2)
        out.varint(UInt64(body.valueSize))
        if let message {
            writeValue(fields.fields[message].value, body, fields, into: &out)
        } else {
            writeString(text, body, into: &out)
        }
        for index in plans.indices where plans[index].disposition != .mapped {
            let plan = plans[index]
            let field = fields.fields[index]
            let keyCount = plan.disposition == .correlation ? Self.correlationKey.count : field.key.count
            out.tag(6, 2)
            out.varint(UInt64(Self.keyValueSize(keyCount: keyCount, valueSize: plan.valueSize)))
            if plan.disposition == .correlation {
                Self.correlationKey.withUnsafeBufferPointer { out.lengthDelimited(1, $0) }
            } else if keyCount > 0 {
                fields.withBytes(field.key) { out.lengthDelimited(1, $0) }
            }
            out.tag(2, 2)
            out.varint(UInt64(plan.valueSize))
            writeValue(field.value, plan, fields, into: &out)
        }
        if !parsed { out.bytes(Self.parseErrorAttribute) }
        if let truncatedFrom {
            out.bytes(Self.truncatedAttribute)
            let valueSize = Self.intSize(Int64(truncatedFrom))
            out.tag(6, 2)
            out.varint(UInt64(Self.keyValueSize(keyCount: LogLineParser.originalLength.utf8.count, valueSize: valueSize)))
            Self.originalLengthKey.withUnsafeBufferPointer { out.lengthDelimited(1, $0) }
            out.tag(2, 2)
            out.varint(UInt64(valueSize))
            out.tag(3, 0)
            out.varint(UInt64(truncatedFrom))
        }
        if invalidUTF8 { out.bytes(Self.invalidUTF8Attribute) }
        if timeUnusable { out.bytes(Self.timeUnusableAttribute) }
        out.bytes(fileAttributes)
        if let traceID {
            out.tag(9, 2)
            out.byte(16)
            out.bigEndian64(traceID.high)
            out.bigEndian64(traceID.low)
        }
        if let spanID {
            out.tag(10, 2)
            out.byte(8)
            out.bigEndian64(spanID)
        }
        if observedUnixNano != 0 {
            out.tag(11, 1)
            out.fixed64(observedUnixNano)
        }
    }

    /// An `AnyValue`'s content.
    private func writeValue(_ value: ParsedFields.Value, _ plan: Plan, _ fields: ParsedFields, into out: inout PresizedProtobufWriter) {
        if let replacement = plan.replacement { return out.bytes(replacements[replacement]) }
        switch value {
        case .string(let range):
            fields.withBytes(range) { out.lengthDelimited(1, $0) }
        case .int(let number):
            out.tag(3, 0)
            out.varint(UInt64(bitPattern: number))
        case .double(let number):
            out.tag(4, 1)
            out.fixed64(number.bitPattern)
        case .bool(let flag):
            out.tag(2, 0)
            out.byte(flag ? 1 : 0)
        case .null, .structured:
            break
        }
    }

    private func writeString(_ utf8: UnsafeBufferPointer<UInt8>, _ plan: Plan, into out: inout PresizedProtobufWriter) {
        if let replacement = plan.replacement { return out.bytes(replacements[replacement]) }
        out.lengthDelimited(1, utf8)
    }

    // MARK: - Sizes and constant parts

    private static func keyValueSize(keyCount: Int, valueSize: Int) -> Int {
        (keyCount > 0 ? PresizedProtobufWriter.lengthDelimitedSize(1, keyCount) : 0) + PresizedProtobufWriter.lengthDelimitedSize(2, valueSize)
    }

    private static func intSize(_ number: Int64) -> Int { 1 + PresizedProtobufWriter.varintSize(UInt64(bitPattern: number)) }

    /// `AnyValue` content holding a string.
    private static func stringContent(_ text: String) -> [UInt8] {
        var content = ProtobufWriter()
        content.anyValue(.string(text))
        return content.bytes
    }

    private static func attribute(_ key: String, _ value: AttributeValue) -> [UInt8] {
        var bytes = ProtobufWriter()
        bytes.attributes(6, [Attribute(key, value)])
        return bytes.bytes
    }

    private static let parseErrorAttribute = attribute(LogLineParser.parseError, .bool(true))
    private static let truncatedAttribute = attribute(LogLineParser.truncated, .bool(true))
    private static let invalidUTF8Attribute = attribute(LogLineParser.invalidUTF8, .bool(true))
    private static let timeUnusableAttribute = attribute(LogLineParser.timeUnusable, .bool(true))
    private static let originalLengthKey = Array(LogLineParser.originalLength.utf8)
    private static let correlationKey = Array(LogLineParser.correlationID.utf8)

    /// 32 hex digits, not all zero.
    private static func traceID(_ hex: UnsafeBufferPointer<UInt8>) -> (high: UInt64, low: UInt64)? {
        guard hex.count == 32, let high = HexDigits.value16(UnsafeBufferPointer(rebasing: hex[0..<16])),
              let low = HexDigits.value16(UnsafeBufferPointer(rebasing: hex[16..<32])), high != 0 || low != 0 else { return nil }
        return (high, low)
    }

    private static func redacted(_ text: String, by redactor: Redactor, counts: inout [Int]) -> String {
        var text = text
        return text.withUTF8 { redactor.redacted($0, counts: &counts) } ?? text
    }
}
