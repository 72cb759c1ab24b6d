import Foundation
import PeriscopeOTLP

/// A mergeable latency histogram with bounded relative error (the DDSketch idea): a value v
/// falls in bucket ⌈log_γ v⌉ with γ = (1+α)/(1−α), and a bucket's representative value is
/// within α of every value in it. With α = 0.5 % every quantile is within 1 % of the exact
/// value, and sketches of minutes, services or days merge by adding counts.
/// See https://arxiv.org/abs/1908.10693
struct LatencySketch: Equatable, Sendable {
    static let relativeAccuracy = 0.005
    static let gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy)
    private static let logGamma = log(gamma)
    /// The bucket indices of 1 ns … `UInt64.max` ns (0 … ~4,420): stored bytes naming any
    /// other bucket are damaged.
    static let validBuckets: ClosedRange<Int64> = 0...5_000

    /// Counts of the contiguous bucket indices `offset ..< offset + counts.count`: latencies
    /// span a few thousand buckets at most, so an array merges and encodes far faster than a
    /// dictionary. Values below 1 ns go to the zero count.
    private(set) var offset: Int32 = 0
    private(set) var counts: [UInt64] = []
    private(set) var zeroCount: UInt64 = 0
    private(set) var count: UInt64 = 0

    init() {}

    static func == (lhs: LatencySketch, rhs: LatencySketch) -> Bool { lhs.encoded == rhs.encoded }

    /// The bucket of values below 1 ns; it sorts before every other bucket.
    static let zeroBucket = Int32.min

    /// The bucket of a latency, computed once per span for the several sketches it goes to.
    static func bucket(_ nanos: UInt64) -> Int32 {
        nanos >= 1 ? Int32((log(Double(nanos)) / logGamma).rounded(.up)) : zeroBucket
    }

    mutating func add(_ nanos: UInt64, count repeats: UInt64 = 1) {
        add(bucket: Self.bucket(nanos), count: repeats)
    }

    @inline(__always)
    mutating func add(bucket index: Int32, count repeats: UInt64 = 1) {
        count &+= repeats
        if index == Self.zeroBucket {
            zeroCount &+= repeats
            return
        }
        let slot = Int(index) - Int(offset)
        if slot >= 0 && slot < counts.count {
            counts[slot] &+= repeats
            return
        }
        cover(index, index)
        counts[Int(index - offset)] &+= repeats
    }

    /// The bucket of the value of a sketch of one value.
    var onlyBucket: Int32? {
        guard count == 1 else { return nil }
        if zeroCount == 1 { return Self.zeroBucket }
        guard let position = counts.firstIndex(where: { $0 > 0 }), counts[position] == 1 else { return nil }
        return offset + Int32(position)
    }

    /// Empties the sketch, keeping its storage for the next one.
    mutating func removeAll() {
        counts.removeAll(keepingCapacity: true)
        offset = 0
        zeroCount = 0
        count = 0
    }

    mutating func merge(_ other: LatencySketch) {
        zeroCount &+= other.zeroCount
        count &+= other.count
        guard !other.counts.isEmpty else { return }
        cover(other.offset, other.offset + Int32(other.counts.count) - 1)
        let shift = Int(other.offset - offset)
        counts.withUnsafeMutableBufferPointer { mine in
            other.counts.withUnsafeBufferPointer { theirs in
                for position in theirs.indices { mine[shift + position] &+= theirs[position] }
            }
        }
    }

    /// Grows `counts` so that bucket indices `low...high` have a slot; a side that grows takes
    /// some slack too, so merging many sketches moves the counts a few times, not once per merge.
    @inline(__always)
    private mutating func cover(_ low: Int32, _ high: Int32) {
        if !counts.isEmpty && low >= offset && Int(high) - Int(offset) < counts.count { return }
        grow(low, high)
    }

    private mutating func grow(_ low: Int32, _ high: Int32) {
        if counts.isEmpty {
            offset = low
            counts.append(contentsOf: repeatElement(0, count: Int(high - low) + 1))
            return
        }
        let slack = Int32(min(counts.count / 4, 64))
        if low < offset {
            let newOffset = max(Int32(Self.validBuckets.lowerBound), min(low, offset - slack))
            counts.insert(contentsOf: repeatElement(0, count: Int(offset - newOffset)), at: 0)
            offset = newOffset
        }
        let last = offset + Int32(counts.count) - 1
        if high > last {
            let newLast = min(Int32(Self.validBuckets.upperBound), max(high, last + slack))
            counts.append(contentsOf: repeatElement(0, count: Int(newLast - last)))
        }
    }

    /// The value at quantile `q` (0…1), within 1 % of the exact order statistic; `nil` when empty.
    func quantile(_ q: Double) -> Double? { quantiles([q])?[0] }

    /// The values at quantiles `qs` (ascending, each 0…1) in one pass over the buckets, each
    /// within 1 % of the exact order statistic; `nil` when empty. The statistic is the nearest
    /// rank, ⌈q·n⌉: the smallest value that at least a share q of the samples do not exceed, so
    /// p99 of 50 fast requests and one slow one is the slow one (2 % of them took that long).
    func quantiles(_ qs: [Double]) -> [Double]? {
        guard count > 0 else { return nil }
        // Counts come from stored bytes and may be anything: ranks and sums saturate instead of trapping.
        let ranks = qs.map { q -> UInt64 in
            // The slack keeps a product that binary fractions put a hair above a whole number (0.29 × 100) on it.
            let rank = (q.isNaN ? 0 : Swift.min(Swift.max(q, 0), 1) * Double(count) - 1e-9).rounded(.up)
            return rank < 1 ? 1 : rank < 18_446_744_073_709_549_568.0 ? UInt64(rank) : .max
        }
        var values = [Double]()
        values.reserveCapacity(qs.count)
        var seen = zeroCount
        while values.count < ranks.count && seen >= ranks[values.count] { values.append(0) }
        counts.withUnsafeBufferPointer { counts in
            for position in counts.indices where counts[position] > 0 {
                guard values.count < ranks.count else { break }
                let (sum, overflow) = seen.addingReportingOverflow(counts[position])
                seen = overflow ? .max : sum
                while values.count < ranks.count && seen >= ranks[values.count] {
                    values.append(2 * pow(Self.gamma, Double(offset + Int32(position))) / (Self.gamma + 1))
                }
            }
        }
        return values.count == ranks.count ? values : nil
    }

    // MARK: - Storage

    /// Compact bytes: the zero count, the number of non-empty buckets n, and when n > 0 the
    /// first one's index (zigzag), the distance from it to the last one, the first one's count,
    /// then for each next one the gap from the previous index and its count — varints, mostly
    /// one byte each. The range up front lets a reader size its counts once.
    func append(to out: inout [UInt8]) {
        Varint.append(zeroCount, to: &out)
        counts.withUnsafeBufferPointer { counts in
            var buckets = 0
            var first = -1
            var last = -1
            for position in counts.indices where counts[position] > 0 {
                buckets += 1
                if first < 0 { first = position }
                last = position
            }
            Varint.append(UInt64(buckets), to: &out)
            guard buckets > 0 else { return }
            Varint.append(signed: Int64(offset) + Int64(first), to: &out)
            Varint.append(UInt64(last - first), to: &out)
            var previous = first
            for position in first...last where counts[position] > 0 {
                if position > first { Varint.append(UInt64(position - previous), to: &out) }
                Varint.append(counts[position], to: &out)
                previous = position
            }
        }
    }

    /// The bytes `append(to:)` writes for the sketch of some bucket indices in any order, counted
    /// in `counts` (kept from one call to the next) over their range, which valid indices keep to
    /// a few thousand: one pass to count, one over the range to write. A few indices, or a range
    /// much wider than their number, are sorted instead.
    static func append(buckets: UnsafeMutableBufferPointer<Int32>, counts: inout [UInt32], sorter: inout CountingSort, to out: inout [UInt8]) {
        var zeros = 0
        var low = Int32.max
        var high = Int32.min
        for bucket in buckets {
            if bucket == zeroBucket {
                zeros += 1
            } else {
                low = min(low, bucket)
                high = max(high, bucket)
            }
        }
        let others = buckets.count - zeros
        // A few (sorted by insertion) would cost less than a pass over their range.
        guard others > 32, Int64(high) - Int64(low) < Int64(4 * others + 1024) else {
            var sorted = buckets
            sorter.sort(&sorted, span: 4 * buckets.count + 1024) { Int64($0) }
            append(sortedBuckets: UnsafeBufferPointer(sorted), to: &out)
            return
        }
        counts.removeAll(keepingCapacity: true)
        counts.append(contentsOf: repeatElement(0, count: Int(high - low) + 1))
        var distinct = 0
        counts.withUnsafeMutableBufferPointer { counts in
            for bucket in buckets where bucket != zeroBucket {
                let slot = Int(bucket - low)
                if counts[slot] == 0 { distinct += 1 }
                counts[slot] += 1
            }
        }
        Varint.append(UInt64(zeros), to: &out)
        Varint.append(UInt64(distinct), to: &out)
        Varint.append(signed: Int64(low), to: &out)
        Varint.append(UInt64(high - low), to: &out)
        var previous = 0
        for slot in counts.indices where counts[slot] > 0 {
            if slot > 0 { Varint.append(UInt64(slot - previous), to: &out) }
            Varint.append(UInt64(counts[slot]), to: &out)
            previous = slot
        }
    }

    /// The bytes `append(to:)` writes for the sketch of some bucket indices given in ascending
    /// order: what a flush writes for an aggregate it never needs as a sketch.
    static func append(sortedBuckets buckets: UnsafeBufferPointer<Int32>, to out: inout [UInt8]) {
        var zeros = 0
        while zeros < buckets.count && buckets[zeros] == zeroBucket { zeros += 1 }
        Varint.append(UInt64(zeros), to: &out)
        var distinct = 0
        for position in zeros..<buckets.count where position == zeros || buckets[position] != buckets[position - 1] { distinct += 1 }
        Varint.append(UInt64(distinct), to: &out)
        guard distinct > 0 else { return }
        Varint.append(signed: Int64(buckets[zeros]), to: &out)
        Varint.append(UInt64(Int64(buckets[buckets.count - 1]) - Int64(buckets[zeros])), to: &out)
        var position = zeros
        while position < buckets.count {
            var end = position + 1
            while end < buckets.count && buckets[end] == buckets[position] { end += 1 }
            if position > zeros { Varint.append(UInt64(Int64(buckets[position]) - Int64(buckets[position - 1])), to: &out) }
            Varint.append(UInt64(end - position), to: &out)
            position = end
        }
    }

    var encoded: [UInt8] {
        var out = [UInt8]()
        append(to: &out)
        return out
    }

    /// Adds an encoded sketch (see `append(to:)`) straight from its bytes: what a 30-day
    /// question does for every bucket it reads. On damage, what was read before stays added.
    mutating func merge(from reader: inout RollupByteReader) throws(DamagedRollupData) {
        let zero = try reader.varint()
        zeroCount &+= zero
        count &+= zero
        let buckets = try reader.count()
        guard buckets > 0 else { return }
        let first = try reader.signed()
        let width = try reader.varint()
        guard Self.validBuckets.contains(first), width <= UInt64(Self.validBuckets.upperBound),
              Self.validBuckets.contains(first + Int64(width)) else { throw DamagedRollupData() }
        cover(Int32(first), Int32(first + Int64(width)))
        let base = Int(first) - Int(offset)
        let end = base + Int(width)
        var added: UInt64 = 0
        var damaged = false
        // One pass over the counts without per-bucket range or uniqueness checks.
        let bytes = reader.bytes
        var position = reader.position
        counts.withUnsafeMutableBufferPointer { counts in
            var slot = base
            for index in 0..<buckets {
                if index > 0 {
                    guard let gap = Varint.read(bytes, &position), gap >= 1, gap <= UInt64(end - slot) else {
                        damaged = true
                        return
                    }
                    slot += Int(gap)
                }
                guard let value = Varint.read(bytes, &position) else {
                    damaged = true
                    return
                }
                counts[slot] &+= value
                added &+= value
            }
        }
        reader.position = position
        count &+= added
        if damaged { throw DamagedRollupData() }
    }

    init(encoded bytes: [UInt8]) throws(DamagedRollupData) {
        self.init()
        try RollupByteReader.reading(bytes) { (raw) throws(DamagedRollupData) in
            var reader = RollupByteReader(raw)
            try merge(from: &reader)
            guard reader.isAtEnd else { throw DamagedRollupData() }
        }
    }
}
