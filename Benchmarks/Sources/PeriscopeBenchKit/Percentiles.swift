/// Nearest-rank percentiles of a sample, the way the report states them (p50, p99).
public struct Percentiles: Codable, Sendable {
    /// How many values the figures come from.
    public var count: Int
    /// The median.
    public var p50: Double
    /// The 99th percentile.
    public var p99: Double
    /// The largest value.
    public var max: Double

    /// Figures of `values` (empty gives zeros with `count` 0).
    public init(_ values: [Double]) {
        let sorted = values.sorted()
        count = sorted.count
        func rank(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
            return sorted[Swift.max(0, Swift.min(sorted.count - 1, index))]
        }
        p50 = rank(0.50)
        p99 = rank(0.99)
        max = sorted.last ?? 0
    }
}
