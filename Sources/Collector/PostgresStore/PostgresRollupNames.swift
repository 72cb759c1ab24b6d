import NIOCore
import PostgresNIO
import Synchronization

/// The rollup names of the days a question read before, by day, so a question reads only the
/// names added since. A day's names are only ever appended; the last one known is read again
/// with the row's `xmin` (the transaction that inserted it), so a day dropped by retention and
/// numbered afresh is noticed and read whole.
final class PostgresRollupNames: Sendable {
    private struct Entry {
        var names: RollupNames
        /// `xmin` of the row of the last name in `names`.
        var lastRow: Int64
    }

    private let entries = Mutex<[PartitionDay: Entry]>([:])

    /// Most names held, over all days; beyond it the oldest days are forgotten (and read again
    /// when asked for).
    static let maxNames = 500_000

    /// The names of every day in `days` that has any, as of this read: two statements at most
    /// (the second only for a day found renumbered).
    func read(days: [PartitionDay], in session: PostgresSession) throws -> [PartitionDay: RollupNames] {
        guard !days.isEmpty else { return [:] }
        let known = entries.withLock { entries in days.compactMap { day in entries[day].map { (day, $0) } } }
            .reduce(into: [PartitionDay: Entry]()) { $0[$1.0] = $1.1 }
        var out = [PartitionDay: Entry]()
        var renumbered = [PartitionDay]()
        for (day, rows) in try rows(days, from: { known[$0].map { $0.names.names.count - 1 } ?? 1 }, session) {
            if let cached = known[day] {
                let last = cached.names.names.count - 1
                guard let first = rows.first, first.id == last, first.name == cached.names.names[last], first.xmin == cached.lastRow else {
                    renumbered.append(day)
                    continue
                }
                out[day] = Self.extend(cached, with: rows.dropFirst())
            } else {
                out[day] = Self.extend(Entry(names: RollupNames(), lastRow: 0), with: rows[...])
            }
        }
        for day in days where known[day] != nil && out[day] == nil && !renumbered.contains(day) { renumbered.append(day) }
        if !renumbered.isEmpty {
            for (day, rows) in try rows(renumbered, from: { _ in 1 }, session) {
                out[day] = Self.extend(Entry(names: RollupNames(), lastRow: 0), with: rows[...])
            }
        }
        entries.withLock { entries in
            for day in renumbered { entries[day] = nil }
            for (day, entry) in out where entry.names.names.count > 1 { entries[day] = entry }
            // Over the cap, days this read did not ask for go first, oldest first.
            var total = entries.values.reduce(0) { $0 + $1.names.names.count }
            let asked = Set(days)
            for day in entries.keys.sorted(by: { (asked.contains($0) ? 1 : 0, $0.index) < (asked.contains($1) ? 1 : 0, $1.index) }) where total > Self.maxNames {
                total -= entries.removeValue(forKey: day)?.names.names.count ?? 0
            }
        }
        return out.mapValues(\.names)
    }

    /// Forgets the days before `day` (dropped by retention, by this collector or another).
    func forget(before day: PartitionDay) {
        entries.withLock { entries in entries = entries.filter { $0.key >= day } }
    }

    private typealias Row = (id: Int, name: String, xmin: Int64)

    /// Each day's names from number `from(day)` on, in order.
    private func rows(_ days: [PartitionDay], from: (PartitionDay) -> Int, _ session: PostgresSession) throws -> [PartitionDay: [Row]] {
        var out = [PartitionDay: [Row]]()
        for row in try session.query("""
            SELECT n.day, n.id, n.name, n.xmin::text::bigint FROM unnest(\(days.map { Int32($0.index) }), \(days.map { Int32(clamping: from($0)) })) AS k(day, first)
            JOIN periscope.rollup_names AS n ON n.day = k.day AND n.id >= k.first
            ORDER BY n.day, n.id
            """, "reading rollup names") {
            let (day, id, name, xmin) = try row.decode((Int, Int, String, Int64).self)
            out[PartitionDay(index: day), default: []].append((id, name, xmin))
        }
        return out
    }

    /// `entry` with the rows that continue its numbers; a number out of sequence ends them
    /// (the entries that use it are skipped as damaged, as `RollupNames.read(day:in:)` does).
    private static func extend(_ entry: Entry, with rows: ArraySlice<Row>) -> Entry {
        var entry = entry
        for row in rows {
            guard row.id == entry.names.names.count else { break }
            entry.names.names.append(row.name)
            entry.lastRow = row.xmin
        }
        return entry
    }
}
