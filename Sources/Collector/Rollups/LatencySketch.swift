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

    /// Bucket index → count. Values below 1 ns go to the zero count.
    private(set) var buckets: [Int32: UInt64] = [:]
    private(set) var zeroCount: UInt64 = 0
    private(set) var count: UInt64 = 0
    private(set) var sum: Double = 0

    init() {}

    mutating func add(_ nanos: UInt64, count repeats: UInt64 = 1) {
        count += repeats
        sum += Double(nanos) * Double(repeats)
        guard nanos >= 1 else {
            zeroCount += repeats
            return
        }
        buckets[Self.index(Double(nanos)), default: 0] += repeats
    }

    mutating func merge(_ other: LatencySketch) {
        for (index, value) in other.buckets { buckets[index, default: 0] += value }
        zeroCount += other.zeroCount
        count += other.count
        sum += other.sum
    }

    static func index(_ value: Double) -> Int32 { Int32((log(value) / logGamma).rounded(.up)) }

    /// The value at quantile `q` (0…1), within 1 % of the exact order statistic; `nil` when empty.
    func quantile(_ q: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = UInt64((q * Double(count - 1)).rounded(.down)) + 1
        var seen = zeroCount
        if seen >= rank { return 0 }
        for index in buckets.keys.sorted() {
            seen += buckets[index]!
            if seen >= rank {
                return 2 * pow(Self.gamma, Double(index)) / (Self.gamma + 1)
            }
        }
        return nil
    }

    /// How many values are ≤ `nanos` (exact when `nanos` sits on a bucket edge, else ±1 bucket).
    func count(atMost nanos: UInt64) -> UInt64 {
        guard nanos >= 1 else { return zeroCount }
        let limit = Self.index(Double(nanos))
        return zeroCount + buckets.reduce(0) { $0 + ($1.key <= limit ? $1.value : 0) }
    }

    // MARK: - Storage

    /// Compact bytes: count, zero count, sum, then (index, count) pairs as varints.
    var encoded: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(16 + buckets.count * 4)
        Varint.append(count, to: &out)
        Varint.append(zeroCount, to: &out)
        Varint.append(sum.bitPattern, to: &out)
        for index in buckets.keys.sorted() {
            Varint.append(UInt64(UInt32(bitPattern: index)), to: &out)
            Varint.append(buckets[index]!, to: &out)
        }
        return out
    }

    init(encoded bytes: [UInt8]) {
        var position = 0
        guard let count = Varint.read(bytes, &position), let zero = Varint.read(bytes, &position),
              let sumBits = Varint.read(bytes, &position) else { return }
        self.count = count
        zeroCount = zero
        sum = Double(bitPattern: sumBits)
        while let index = Varint.read(bytes, &position), let value = Varint.read(bytes, &position) {
            buckets[Int32(bitPattern: UInt32(truncatingIfNeeded: index)), default: 0] += value
        }
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
