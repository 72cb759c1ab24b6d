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

        /// Finds a key's role in a small open-addressed table of the packed well-known keys:
        /// most keys are ruled out by the first-byte/length filter, the rest cost one or two probes.
        /// Held by value by whoever looks keys up per line, so no lazy global is touched per key.
        package struct RoleTable: Sendable {
            private static let slotCount = 64
            private let keys: [ShortText]
            private let roles: [Role]
            /// Index into `keys` + 1; 0 marks an empty slot.
            private let slots: [UInt8]
            /// By first byte, the lengths of the well-known keys starting with it (bit n: length n).
            private let lengthsByFirstByte: [UInt32]

            package static let shared = RoleTable()

            private init() {
                var keys: [ShortText] = []
                var roles: [Role] = []
                for (names, role) in [(time, Role.time), (level, .level), (message, .message), (traceID, .traceID), (spanID, .spanID), (correlationID, .correlationID)] {
                    for name in names.sorted() {
                        keys.append(ShortText(name))
                        roles.append(role)
                    }
                }
                precondition(keys.count < Self.slotCount / 2, "the role table must stay at most half full")
                var slots = [UInt8](repeating: 0, count: Self.slotCount)
                var lengths = [UInt32](repeating: 0, count: 256)
                for (index, key) in keys.enumerated() {
                    lengths[Int(key.low & 0xFF)] |= 1 << UInt32(key.count)
                    var slot = Self.slot(of: key)
                    while slots[slot] != 0 { slot = (slot + 1) & (Self.slotCount - 1) }
                    slots[slot] = UInt8(index + 1)
                }
                (self.keys, self.roles, self.slots, lengthsByFirstByte) = (keys, roles, slots, lengths)
            }

            private static func slot(of key: ShortText) -> Int {
                let mixed = (key.low ^ key.high &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(key.count)) &* 0xFF51_AFD7_ED55_8CCD
                return Int(truncatingIfNeeded: mixed >> 58)
            }

            package func role(of key: UnsafeBufferPointer<UInt8>) -> Role? {
                guard let first = key.first, key.count <= 16, lengthsByFirstByte[Int(first)] & (1 << UInt32(key.count)) != 0,
                      let packed = ShortText(key) else { return nil }
                var slot = Self.slot(of: packed)
                while true {
                    let entry = Int(slots[slot])
                    guard entry != 0 else { return nil }
                    if keys[entry - 1] == packed { return roles[entry - 1] }
                    slot = (slot + 1) & (Self.slotCount - 1)
                }
            }
        }

        package static func role(of key: UnsafeBufferPointer<UInt8>) -> Role? { RoleTable.shared.role(of: key) }
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
