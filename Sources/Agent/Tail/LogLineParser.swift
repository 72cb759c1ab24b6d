import PeriscopeTelemetry

/// Turns one record's text into an OTLP log record, by the source's format, and maps the
/// well-known fields: time, level, message, trace/span ID and correlation ID; everything else
/// becomes an attribute. A line that does not parse is kept whole as the body with
/// `periscope.parse_error = true` — never dropped.
struct LogLineParser: Sendable {
    enum Key {
        static let time: Set<String> = ["time", "timestamp", "ts", "@timestamp"]
        static let level: Set<String> = ["level", "severity", "lvl", "log.level"]
        static let message: Set<String> = ["msg", "message"]
        static let traceID: Set<String> = ["trace_id", "traceId", "trace.id", "traceid"]
        static let spanID: Set<String> = ["span_id", "spanId", "span.id", "spanid"]
        static let correlationID: Set<String> = ["correlation_id", "request_id", "x-request-id", "correlationId", "requestId"]

        enum Role { case time, level, message, traceID, spanID, correlationID }

        /// Every well-known key and its role: one hash per field instead of one per set.
        static let roles: [String: Role] = {
            var roles: [String: Role] = [:]
            for (keys, role) in [(time, Role.time), (level, .level), (message, .message), (traceID, .traceID), (spanID, .spanID), (correlationID, .correlationID)] {
                for key in keys { roles[key] = role }
            }
            return roles
        }()
    }

    static let parseError = "periscope.parse_error"
    static let truncated = "periscope.truncated"
    static let originalLength = "periscope.original_length"
    static let invalidUTF8 = "periscope.invalid_utf8"
    static let filePath = "log.file.path"
    static let fileName = "log.file.name"
    static let correlationID = "correlation_id"

    let format: TailSource.Format
    let regex: RegexLineParser?

    init(format: TailSource.Format, pattern: String?) {
        self.format = format
        self.regex = pattern.flatMap(RegexLineParser.init(pattern:))
    }

    struct Outcome {
        var record: LogRecord
        var failed: Bool
    }

    func parse(_ raw: RawRecord, path: String, fileName: String, observedUnixNano: UInt64) -> Outcome {
        var record = LogRecord(timeUnixNano: 0, observedTimeUnixNano: observedUnixNano, body: .string(raw.text))
        let fields: [(String, AttributeValue)]?
        switch format {
        case .json: fields = JSONLineParser.parseObject(raw.text)
        case .logfmt: fields = LogfmtParser.parse(raw.text)
        case .plain: fields = regex == nil ? [] : regex!.parse(raw.text)
        }
        let failed = fields == nil
        if let fields { Self.map(fields, into: &record) }
        if failed { record.attributes.append(Attribute(Self.parseError, .bool(true))) }
        if let length = raw.truncatedFrom {
            record.attributes.append(Attribute(Self.truncated, .bool(true)))
            record.attributes.append(Attribute(Self.originalLength, .int(Int64(length))))
        }
        if raw.invalidUTF8 { record.attributes.append(Attribute(Self.invalidUTF8, .bool(true))) }
        record.attributes.append(Attribute(Self.filePath, .string(path)))
        record.attributes.append(Attribute(Self.fileName, .string(fileName)))
        return Outcome(record: record, failed: failed)
    }

    /// Applies the field mapping; the body becomes the message, or stays the whole line.
    static func map(_ fields: [(String, AttributeValue)], into record: inout LogRecord) {
        var message: AttributeValue?
        for (key, value) in fields {
            switch Key.roles[key] {
            case .time? where record.timeUnixNano == 0:
                if let time = TimestampParser.unixNano(value) {
                    record.timeUnixNano = time
                    continue
                }
            case .level? where record.severityNumber == .unspecified:
                if let (number, text) = SeverityParser.severity(value) {
                    record.severityNumber = number
                    record.severityText = text
                    continue
                }
            case .message? where message == nil && value != .empty:
                message = value
                continue
            case .traceID? where record.traceID == nil:
                if case .string(let hex) = value, let id = TraceID(hex: hex), !id.isZero {
                    record.traceID = id
                    continue
                }
            case .spanID? where record.spanID == nil:
                if case .string(let hex) = value, let id = SpanID(hex: hex), id.value != 0 {
                    record.spanID = id
                    continue
                }
            case .correlationID? where value != .empty && record.attributes[correlationID] == nil:
                record.attributes.append(Attribute(correlationID, .string(value.text)))
                continue
            default:
                break
            }
            record.attributes.append(Attribute(key, value))
        }
        if let message { record.body = message }
    }
}
