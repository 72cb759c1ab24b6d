import Foundation

/// A mergeable latency histogram with bounded relative error (the DDSketch idea): a value v
/// falls in bucket ⌈log_γ v⌉ with γ = (1+α)/(1−α), and a bucket's representative value is
/// within α of every value in it. With α = 0.5 % every quantile is within 1 % of the exact
/// value, and sketches of minutes, services or days merge by adding counts.
/// See https://arxiv.org/abs/1908.10693
struct LatencySketch: Equatable, Sendable {
    static let relativeAccuracy = 0.005
    static let gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy)
    private static let logGamma = log(gamma)

    /// Counts of the contiguous bucket indices `offset ..< offset + counts.count`: latencies
    /// span a few thousand buckets at most, so an array merges and encodes far faster than a
    /// dictionary. Values below 1 ns go to the zero count.
    private(set) var offset: Int32 = 0
    private(set) var counts: [UInt64] = []
    private(set) var zeroCount: UInt64 = 0
    private(set) var count: UInt64 = 0
    private(set) var sum: Double = 0

    init() {}

    static func == (lhs: LatencySketch, rhs: LatencySketch) -> Bool { lhs.encoded == rhs.encoded }

    mutating func add(_ nanos: UInt64, count repeats: UInt64 = 1) {
        count += repeats
        sum += Double(nanos) * Double(repeats)
        guard nanos >= 1 else {
            zeroCount += repeats
            return
        }
        let index = Self.index(Double(nanos))
        cover(index, index)
        counts[Int(index - offset)] += repeats
    }

    mutating func merge(_ other: LatencySketch) {
        zeroCount += other.zeroCount
        count += other.count
        sum += other.sum
        guard !other.counts.isEmpty else { return }
        cover(other.offset, other.offset + Int32(other.counts.count) - 1)
        let shift = Int(other.offset - offset)
        counts.withUnsafeMutableBufferPointer { mine in
            other.counts.withUnsafeBufferPointer { theirs in
                for position in theirs.indices { mine[shift + position] &+= theirs[position] }
            }
        }
    }

    /// Grows `counts` so that bucket indices `low...high` have a slot.
    private mutating func cover(_ low: Int32, _ high: Int32) {
        if counts.isEmpty {
            offset = low
            counts = Array(repeating: 0, count: Int(high - low) + 1)
            return
        }
        if low < offset {
            counts.insert(contentsOf: repeatElement(0, count: Int(offset - low)), at: 0)
            offset = low
        }
        let last = offset + Int32(counts.count) - 1
        if high > last { counts.append(contentsOf: repeatElement(0, count: Int(high - last))) }
    }

    static func index(_ value: Double) -> Int32 { Int32((log(value) / logGamma).rounded(.up)) }

    /// The value at quantile `q` (0…1), within 1 % of the exact order statistic; `nil` when empty.
    func quantile(_ q: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = UInt64((q * Double(count - 1)).rounded(.down)) + 1
        var seen = zeroCount
        if seen >= rank { return 0 }
        for (position, value) in counts.enumerated() where value > 0 {
            seen += value
            if seen >= rank {
                return 2 * pow(Self.gamma, Double(offset + Int32(position))) / (Self.gamma + 1)
            }
        }
        return nil
    }

    /// How many values are ≤ `nanos` (exact when `nanos` sits on a bucket edge, else ±1 bucket).
    func count(atMost nanos: UInt64) -> UInt64 {
        guard nanos >= 1 else { return zeroCount }
        let limit = Int(Self.index(Double(nanos)) - offset)
        guard limit >= 0 else { return zeroCount }
        return zeroCount + counts.prefix(limit + 1).reduce(0, &+)
    }

    // MARK: - Storage

    /// Compact bytes: count, zero count, sum, then (index, count) pairs of the non-empty
    /// buckets as varints, indices ascending.
    var encoded: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(16 + counts.count * 2)
        Varint.append(count, to: &out)
        Varint.append(zeroCount, to: &out)
        Varint.append(sum.bitPattern, to: &out)
        for (position, value) in counts.enumerated() where value > 0 {
            Varint.append(UInt64(UInt32(bitPattern: offset + Int32(position))), to: &out)
            Varint.append(value, to: &out)
        }
        return out
    }

    /// Adds an encoded sketch (see `encoded`) straight from its bytes, without decoding it into
    /// a sketch first: what a 30-day question does for every rollup row it reads.
    mutating func merge(encoded bytes: UnsafeRawBufferPointer) {
        var position = 0
        guard let count = Varint.read(bytes, &position), let zero = Varint.read(bytes, &position),
              let sumBits = Varint.read(bytes, &position) else { return }
        self.count += count
        zeroCount += zero
        sum += Double(bitPattern: sumBits)
        while let rawIndex = Varint.read(bytes, &position), let value = Varint.read(bytes, &position) {
            let index = Int32(bitPattern: UInt32(truncatingIfNeeded: rawIndex))
            let slot = Int(index) - Int(offset)
            if slot >= 0 && slot < counts.count {
                counts[slot] &+= value
                continue
            }
            // Nanosecond latencies use indices 0 ... ~4,500: anything far outside is a damaged blob.
            guard index > -(1 << 15), index < 1 << 15 else { continue }
            cover(index, index)
            counts[Int(index - offset)] &+= value
        }
    }

    init(encoded bytes: [UInt8]) {
        var position = 0
        guard let count = Varint.read(bytes, &position), let zero = Varint.read(bytes, &position),
              let sumBits = Varint.read(bytes, &position) else { return }
        self.count = count
        zeroCount = zero
        sum = Double(bitPattern: sumBits)
        var pairs: [(index: Int32, value: UInt64)] = []
        while let index = Varint.read(bytes, &position), let value = Varint.read(bytes, &position) {
            pairs.append((Int32(bitPattern: UInt32(truncatingIfNeeded: index)), value))
        }
        // Nanosecond latencies use indices 0 ... ~4,500: a wider span is a damaged blob.
        guard let low = pairs.map(\.index).min(), let high = pairs.map(\.index).max(), Int(high) - Int(low) < 1 << 16 else { return }
        cover(low, high)
        for pair in pairs { counts[Int(pair.index - offset)] &+= pair.value }
    }
}

/// LEB128 unsigned varints.
enum Varint {
    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    static func read(_ bytes: [UInt8], _ position: inout Int) -> UInt64? {
        bytes.withUnsafeBytes { read($0, &position) }
    }

    @inline(__always)
    static func read(_ bytes: UnsafeRawBufferPointer, _ position: inout Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while position < bytes.count, shift < 64 {
            let byte = bytes[position]
            position += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        return nil
    }
}
