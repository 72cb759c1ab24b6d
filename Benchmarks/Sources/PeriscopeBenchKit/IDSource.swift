/// Unique trace and span IDs for one run, random-looking like a real SDK's (so zstd and the
/// store get no help from sequential bytes) yet rebuilt from a trace's number for queries.
///
/// Each ID is SplitMix64 of a per-run random seed combined with the trace number (and the
/// span's position); SplitMix64 is a bijection, so distinct inputs never collide.
public struct IDSource: Sendable {
    /// Random per run, so runs never share IDs.
    public let seed: UInt64

    /// A fresh source with a random seed.
    public init() {
        seed = UInt64.random(in: 1...UInt64.max)
    }

    /// The 16-byte trace ID for trace number `index`.
    public func traceID(_ index: UInt64) -> [UInt8] {
        Self.bigEndian(Self.mix(seed ^ index)) + Self.bigEndian(Self.mix(~seed ^ index))
    }

    /// The 8-byte span ID for span `position` of trace `index`, never all zero.
    public func spanID(trace index: UInt64, position: Int) -> [UInt8] {
        let mixed = Self.mix(seed &+ (index << 8 | UInt64(position & 0xff)) &* 0x9E37_79B9_7F4A_7C15)
        return Self.bigEndian(mixed == 0 ? 1 : mixed)
    }

    /// Lowercase hex, as the query API spells IDs.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// SplitMix64's output function: a bijective scramble of 64 bits.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }
}
