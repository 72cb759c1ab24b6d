import PeriscopeOTLP

/// Good and total events of an SLO: requests for span-based SLOs, counter increments for ratio SLOs.
struct SLOCounts: Equatable, Sendable {
    var total = 0.0
    var good = 0.0

    mutating func add(_ other: SLOCounts) {
        total += other.total
        good += other.good
    }
}

/// The stored form of one SLO rollup bucket: the counts of every SLO in a minute, hour or day
/// of a partition, one blob per bucket.
///
///     per SLO, by name: name, total and good (8-byte little-endian doubles)
enum SLOBucket {
    static func encode(_ counts: [(slo: String, counts: SLOCounts)]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(counts.count * 32)
        for (slo, counts) in counts {
            Varint.append(slo, to: &out)
            Varint.append(counts.total, to: &out)
            Varint.append(counts.good, to: &out)
        }
        return out
    }

    static func forEach(
        in bytes: UnsafeRawBufferPointer,
        _ body: (_ slo: UnsafeRawBufferPointer, _ counts: SLOCounts) throws(DamagedRollupData) -> Void
    ) throws(DamagedRollupData) {
        var reader = RollupByteReader(bytes)
        while !reader.isAtEnd {
            let slo = try reader.stringBytes()
            try body(slo, SLOCounts(total: try reader.double(), good: try reader.double()))
        }
    }
}
