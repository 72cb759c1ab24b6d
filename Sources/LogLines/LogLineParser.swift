/// Splits one record's text into fields by the source's format, and knows the well-known
/// field names: time, level, message, trace/span ID and correlation ID (`LogRecordWriter`
/// maps them; everything else becomes an attribute).
package struct LogLineParser: Sendable {
    package enum Key {
        package static let time: Set<String> = ["time", "timestamp", "ts", "@timestamp"]
        package static let level: Set<String> = ["level", "severity", "lvl", "log.level"]
        package static let message: Set<String> = ["msg", "message"]
        package static let traceID: Set<String> = ["trace_id", "traceId", "trace.id", "traceid"]
        package static let spanID: Set<String> = ["span_id", "spanId", "span.id", "spanid"]
        package static let correlationID: Set<String> = ["correlation_id", "request_id", "x-request-id", "correlationId", "requestId"]

        package enum Role { case time, level, message, traceID, spanID, correlationID }

        /// Every well-known key, packed, with its role.
        private static let roles: [(key: ShortText, role: Role)] = {
            var roles: [(key: ShortText, role: Role)] = []
            for (keys, role) in [(time, Role.time), (level, .level), (message, .message), (traceID, .traceID), (spanID, .spanID), (correlationID, .correlationID)] {
                for key in keys.sorted() { roles.append((ShortText(key), role)) }
            }
            return roles
        }()

        /// By first byte, the lengths of the well-known keys starting with it (bit n: length n):
        /// most other keys are ruled out by one lookup.
        private static let lengthsByFirstByte: [UInt32] = {
            var table = [UInt32](repeating: 0, count: 256)
            for (key, _) in roles { table[Int(key.low & 0xFF)] |= 1 << UInt32(key.count) }
            return table
        }()

        package static func role(of key: UnsafeBufferPointer<UInt8>) -> Role? {
            guard let first = key.first, key.count <= 16, lengthsByFirstByte[Int(first)] & (1 << UInt32(key.count)) != 0,
                  let packed = ShortText(key) else { return nil }
            for candidate in roles where candidate.key == packed { return candidate.role }
            return nil
        }
    }

    package static let parseError = "periscope.parse_error"
    /// On a record whose time field could not be used (unreadable, or outside `LogTimeBounds`):
    /// its time is when the agent read it.
    package static let timeUnusable = "periscope.time_unusable"
    package static let truncated = "periscope.truncated"
    package static let originalLength = "periscope.original_length"
    package static let invalidUTF8 = "periscope.invalid_utf8"
    package static let filePath = "log.file.path"
    package static let fileName = "log.file.name"
    package static let correlationID = "correlation_id"

    package let format: LogFormat
    package let regex: RegexLineParser?

    package init(format: LogFormat, pattern: String?) {
        self.format = format
        self.regex = pattern.flatMap(RegexLineParser.init(pattern:))
    }

    /// Fills `fields` from one record's text; false when the text does not parse by the format
    /// (the record is then kept whole, marked `periscope.parse_error`).
    package func parse(_ text: UnsafeBufferPointer<UInt8>, into fields: inout ParsedFields) -> Bool {
        fields.beginRecord(text)
        switch format {
        case .json: return JSONLineParser.parseObject(text, into: &fields)
        case .logfmt: return LogfmtParser.parse(text, into: &fields)
        case .plain: return regex?.parse(String(decoding: text, as: UTF8.self), into: &fields) ?? true
        }
    }
}
