import Foundation

/// A UTC day: the unit of partitioning and of retention.
struct PartitionDay: Hashable, Comparable, Sendable, CustomStringConvertible {
    static let nanosPerDay: UInt64 = 86_400 * 1_000_000_000

    var index: Int

    init(index: Int) { self.index = index }

    init(unixNano: UInt64) { index = Int(unixNano / Self.nanosPerDay) }

    /// The last day whose every nanosecond a `UInt64` holds.
    static let lastIndex = Int(UInt64.max / nanosPerDay) - 1

    /// Parses `YYYY-MM-DD` of a day from 1970-01-01 to `lastIndex`, exactly as `description`
    /// writes it: anything else in the data directory (`2024-01-05-old`, `2024-1-5`, `2024-02-31`)
    /// is not a partition of ours.
    init?(name: String) {
        let parts = name.split(separator: "-", omittingEmptySubsequences: false).compactMap { Int($0) }
        guard parts.count == 3, (1970...2554).contains(parts[0]), (1...12).contains(parts[1]), (1...31).contains(parts[2]) else { return nil }
        var components = DateComponents()
        components.calendar = Calendar(identifier: .gregorian)
        components.timeZone = TimeZone(identifier: "UTC")
        (components.year, components.month, components.day) = (parts[0], parts[1], parts[2])
        guard let date = components.date else { return nil }
        let days = date.timeIntervalSince1970 / 86_400
        guard days >= 0, days <= Double(Self.lastIndex) else { return nil }
        index = Int(days)
        guard description == name else { return nil }
    }

    var startUnixNano: UInt64 {
        let (start, overflow) = UInt64(clamping: index).multipliedReportingOverflow(by: Self.nanosPerDay)
        return overflow ? .max : start
    }

    var endUnixNano: UInt64 {
        let (end, overflow) = startUnixNano.addingReportingOverflow(Self.nanosPerDay - 1)
        return overflow ? .max : end
    }

    /// Whether every nanosecond of the day is before `cutoffUnixNano`: past retention, to be dropped.
    func endsBefore(_ cutoffUnixNano: UInt64) -> Bool { endUnixNano < cutoffUnixNano }

    var description: String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let date = Date(timeIntervalSince1970: Double(index) * 86_400)
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    static func < (lhs: PartitionDay, rhs: PartitionDay) -> Bool { lhs.index < rhs.index }
}
