import PeriscopeConfig

/// RFC 3339 timestamps in UTC with milliseconds: `2024-05-01T12:34:56.789Z`.
enum Timestamp {
    static func rfc3339(unixNanos: UInt64) -> String {
        let totalMillis = unixNanos / 1_000_000
        let millis = Int(totalMillis % 1000)
        let totalSeconds = Int64(totalMillis / 1000)
        let days = totalSeconds / 86_400
        let secondOfDay = Int(totalSeconds % 86_400)
        let (year, month, day) = TimestampText.civilFromDays(Int(days))
        return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
            + "T" + pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay / 60 % 60, 2) + ":" + pad(secondOfDay % 60, 2)
            + "." + pad(millis, 3) + "Z"
    }

    /// `11-21 23:10:05.123`: month-day and time of day in UTC, for tables where the year
    /// only takes room.
    static func short(unixNanos: UInt64) -> String {
        let full = rfc3339(unixNanos: unixNanos)  // 2024-11-21T23:10:05.123Z
        let characters = Array(full)
        guard characters.count >= 24 else { return full }
        let date = String(characters[(characters.count - 19)..<(characters.count - 14)])
        let time = String(characters[(characters.count - 13)..<(characters.count - 1)])
        return date + " " + time
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
