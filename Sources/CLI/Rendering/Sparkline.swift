/// A row of block characters scaled to the largest value: `▁▂▅█▃`.
enum Sparkline {
    static let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    static func render(_ values: [Double], width: Int) -> String {
        guard !values.isEmpty, width > 0 else { return "" }
        let sampled = resample(values, to: width)
        let maximum = sampled.max() ?? 0
        guard maximum > 0 else { return String(repeating: " ", count: sampled.count) }
        return String(sampled.map { value in
            value <= 0 ? " " : blocks[min(blocks.count - 1, Int((value / maximum) * Double(blocks.count - 1)))]
        })
    }

    /// For each column `render` draws of `values`, whether `failures` (a series as long) had any
    /// there: those columns are drawn red. Empty when the lengths differ (an older collector).
    static func failedColumns(_ failures: [Double], of values: [Double], width: Int) -> [Bool] {
        guard failures.count == values.count, width > 0 else { return [] }
        return resample(failures, to: width).map { $0 > 0 }
    }

    /// Sums neighbouring values so the series fits `width` columns.
    static func resample(_ values: [Double], to width: Int) -> [Double] {
        guard values.count > width else { return values }
        let per = Double(values.count) / Double(width)
        return (0..<width).map { column in
            let start = Int(Double(column) * per)
            let end = max(start + 1, Int(Double(column + 1) * per))
            return values[start..<min(end, values.count)].reduce(0, +)
        }
    }
}
