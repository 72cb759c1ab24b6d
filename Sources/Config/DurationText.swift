/// Durations as people write them in flags, YAML and query strings — `250ms`, `1.5s`, `2m`,
/// `7d`, compounds as Go writes them (`1h30m`, `2m3.5s`, what Jaeger's and Grafana's duration
/// fields send), or plain nanoseconds — and short labels for them. One parser for every part.
public enum DurationText {
    private static let units: [(suffix: String, nanos: Double)] = [
        ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9), ("d", 86_400e9), ("w", 604_800e9),
    ]

    /// Nanoseconds, or `nil` if the text is not a non-negative duration: plain nanoseconds, or
    /// one or more decimal numbers each followed by a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`,
    /// `h`, `d`, `w`), summed.
    public static func nanos(_ text: String) -> UInt64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let nanos = UInt64(trimmed) { return nanos }
        func isNumeric(_ character: Character) -> Bool { character.isASCII && (character.isNumber || character == ".") }
        var rest = Substring(trimmed)
        var total = 0.0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix(while: isNumeric)
            rest = rest.dropFirst(number.count)
            let suffix = rest.prefix { !isNumeric($0) }
            rest = rest.dropFirst(suffix.count)
            guard !number.isEmpty, let value = Double(number), value.isFinite,
                  let unit = units.first(where: { $0.suffix == suffix }) else { return nil }
            total += value * unit.nanos
            guard total < 1.8e19 else { return nil }
        }
        return UInt64(total)
    }

    public static func parse(_ text: String) -> Duration? {
        nanos(text).map { .nanoseconds(Int64(clamping: $0)) }
    }

    /// A short label: `850us`, `300ms`, `1.5s`, `2m`, `36h`, `7d` (whole hours and days as such).
    public static func short(_ nanos: UInt64) -> String {
        let hour: UInt64 = 3_600_000_000_000, day = 24 * hour
        switch nanos {
        case ..<1_000_000: return "\(nanos / 1000)us"
        case ..<1_000_000_000: return trim(Double(nanos) / 1e6) + "ms"
        case ..<60_000_000_000: return trim(Double(nanos) / 1e9) + "s"
        case day... where nanos % day == 0: return "\(nanos / day)d"
        case hour... where nanos % hour == 0: return "\(nanos / hour)h"
        default: return trim(Double(nanos) / 60e9) + "m"
        }
    }

    private static func trim(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}

import Foundation
