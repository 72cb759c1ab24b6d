import PeriscopeModel

/// Log timestamps as services write them: RFC 3339 (`2024-05-01T12:00:00.123Z`, with an
/// offset, or a space for the `T`), and Unix epoch seconds, milliseconds, microseconds or
/// nanoseconds as numbers or digit strings (told apart by magnitude). A time that Unix
/// nanoseconds in a `UInt64` cannot hold (after 2554-07-21) is `nil`, never a trap. Log lines
/// (the agent's tailer) and query parameters (the collector) are read by this one parser.
public enum TimestampText {
    public static func unixNano(_ value: AttributeValue) -> UInt64? {
        switch value {
        case .int(let number): return epoch(Double(number), exact: number)
        case .double(let number): return epoch(number, exact: nil)
        case .string(let text):
            if let number = Int64(text) { return epoch(Double(number), exact: number) }
            if let number = Double(text), text.first?.isNumber == true { return epoch(number, exact: nil) }
            return rfc3339(text)
        default: return nil
        }
    }

    /// A string value's bytes: an RFC 3339 time is read without building a `String` (no number
    /// parses as one, so the order of the checks in `unixNano(_:)` is kept).
    public static func unixNano(utf8: UnsafeBufferPointer<UInt8>) -> UInt64? {
        if utf8.count >= 19, utf8[4] == UInt8(ascii: "-"), let time = rfc3339(utf8) { return time }
        return unixNano(.string(String(decoding: utf8, as: UTF8.self)))
    }

    /// Seconds < 10^11, milliseconds < 10^14, microseconds < 10^17, else nanoseconds; `nil` when
    /// the nanoseconds would not fit a `UInt64`.
    public static func epoch(_ value: Double, exact: Int64?) -> UInt64? {
        guard value.isFinite, value > 0 else { return nil }
        if let exact {
            guard exact > 0 else { return nil }
            let number = UInt64(exact)
            let scale: UInt64 = switch number {
            case 100_000_000_000_000_000...: 1
            case 100_000_000_000_000...: 1_000
            case 100_000_000_000...: 1_000_000
            default: 1_000_000_000
            }
            let (nanos, overflow) = number.multipliedReportingOverflow(by: scale)
            return overflow ? nil : nanos
        }
        let nanos: Double
        switch value {
        case ..<1e11: nanos = value * 1e9
        case ..<1e14: nanos = value * 1e6
        case ..<1e17: nanos = value * 1e3
        default: nanos = value
        }
        guard nanos < 1.8e19 else { return nil }
        if exact == nil, value < 1e11 {
            // Keep sub-second digits exact enough: split whole and fraction.
            let whole = value.rounded(.down)
            return UInt64(whole) * 1_000_000_000 + UInt64(((value - whole) * 1e9).rounded())
        }
        return UInt64(nanos)
    }

    /// `YYYY-MM-DD[T ]HH:MM:SS[.fraction](Z|±HH:MM|±HHMM)`; a missing zone is UTC.
    public static func rfc3339(_ text: String) -> UInt64? {
        var text = text
        return text.withUTF8 { rfc3339($0) }
    }

    public static func rfc3339(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64? {
        rfc3339Seconds(bytes).flatMap { rfc3339(bytes, prefixSeconds: $0) }
    }

    /// The first 19 bytes of an RFC 3339 time, `YYYY-MM-DD[T ]HH:MM:SS`, as seconds since the
    /// epoch read as UTC; nil when they are not one. Lines written within one second share them,
    /// so a reader of many lines may keep the last one's (`rfc3339(_:prefixSeconds:)`).
    public static func rfc3339Seconds(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard bytes.count >= 19 else { return nil }
        guard let year = digits(bytes, 0, 4), bytes[4] == UInt8(ascii: "-"), let month = digits(bytes, 5, 2), bytes[7] == UInt8(ascii: "-"),
              let day = digits(bytes, 8, 2), bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t") || bytes[10] == UInt8(ascii: " "),
              let hour = digits(bytes, 11, 2), bytes[13] == UInt8(ascii: ":"), let minute = digits(bytes, 14, 2), bytes[16] == UInt8(ascii: ":"),
              let second = digits(bytes, 17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60, year >= 1970
        else { return nil }
        return daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
    }

    /// The time whose first 19 bytes `rfc3339Seconds` read as `prefixSeconds`: the rest is
    /// `[.fraction](Z|±HH:MM|±HHMM)`.
    public static func rfc3339(_ bytes: UnsafeBufferPointer<UInt8>, prefixSeconds: Int) -> UInt64? {
        var index = 19
        var fraction: UInt64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: ",") {
            index += 1
            var scale: UInt64 = 100_000_000
            let start = index
            while index < bytes.count, bytes[index] >= 0x30 && bytes[index] <= 0x39 {
                fraction += UInt64(bytes[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offsetSeconds = 0
        if index < bytes.count {
            let sign = bytes[index]
            if sign == UInt8(ascii: "Z") || sign == UInt8(ascii: "z") {
                index += 1
            } else if sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                guard let hours = digits(bytes, index + 1, 2) else { return nil }
                var minutesAt = index + 3
                if minutesAt < bytes.count, bytes[minutesAt] == UInt8(ascii: ":") { minutesAt += 1 }
                // RFC 3339's time-numoffset: hours 00–23, minutes 00–59.
                guard let minutes = digits(bytes, minutesAt, 2), hours <= 23, minutes <= 59 else { return nil }
                offsetSeconds = (hours * 3600 + minutes * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
                index = minutesAt + 2
            } else {
                return nil
            }
        }
        guard index == bytes.count else { return nil }
        let (seconds, negativeOverflow) = prefixSeconds.subtractingReportingOverflow(offsetSeconds)
        guard !negativeOverflow, seconds >= 0 else { return nil }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        let (nanos, carry) = whole.addingReportingOverflow(fraction)
        return overflow || carry ? nil : nanos
    }

    /// `count` decimal digits at `start`; nil past the end or at any other byte.
    private static func digits(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int? {
        guard start + count <= bytes.count else { return nil }
        var value = 0
        for index in start..<(start + count) {
            let byte = bytes[index]
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    /// A time in a query string or flag: Unix nanoseconds as digits, or RFC 3339; `nil` when
    /// unreadable or past what a `UInt64` of nanoseconds holds.
    public static func unixNano(nanosOrRFC3339 text: String) -> UInt64? {
        if !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) { return UInt64(text) }
        return rfc3339(text)
    }

    /// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`: what `rfc3339(_:)` reads back as the same nanosecond.
    public static func rfc3339(unixNano: UInt64) -> String {
        let seconds = Int(unixNano / 1_000_000_000)
        let (year, month, day) = civilFromDays(seconds / 86_400)
        let time = seconds % 86_400
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(time / 3600, 2)):\(pad(time / 60 % 60, 2)):\(pad(time % 60, 2))"
            + ".\(pad(Int(unixNano % 1_000_000_000), 9))Z"
    }

    /// `2024-05-01T12:34:56.789Z`: to the millisecond, as people read times.
    public static func rfc3339Milliseconds(unixNano: UInt64) -> String {
        String(rfc3339(unixNano: unixNano).dropLast(7)) + "Z"
    }

    /// Year, month and day of a day count since 1970-01-01 (Howard Hinnant's algorithm).
    public static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
