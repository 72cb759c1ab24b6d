import PeriscopeConfig

/// RFC 3339 timestamps in UTC with milliseconds: `2024-05-01T12:34:56.789Z`.
enum Timestamp {
    static func rfc3339(unixNanos: UInt64) -> String {
        TimestampText.rfc3339Milliseconds(unixNano: unixNanos)
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
}
