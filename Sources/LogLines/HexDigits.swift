/// Trace and span IDs written as hex in log lines, read eight digits at a time: IDs are 48 of a
/// typical line's ~250 bytes, and a digit-by-digit loop was the tailer's largest single cost.
package enum HexDigits {
    /// Exactly sixteen hex digits (either case) as a number, the first digit most significant;
    /// nil on any other count or character.
    @inlinable
    package static func value16(_ digits: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard digits.count == 16, let base = digits.baseAddress else { return nil }
        let raw = UnsafeRawPointer(base)
        guard let high = value8(UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))),
              let low = value8(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))) else { return nil }
        return high << 32 | low
    }

    /// Eight digits loaded little-endian (the first digit in the lowest byte) as a 32-bit value;
    /// nil when any byte is not a hex digit.
    @inlinable
    package static func value8(_ word: UInt64) -> UInt64? {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        guard word & highs == 0 else { return nil }
        // For bytes below 0x80, adding 0x80 − lo sets the high bit when the byte is ≥ lo, and
        // adding 0x7F − hi sets it when the byte is > hi; no lane carries into the next.
        func inRange(_ x: UInt64, _ lo: UInt64, _ hi: UInt64) -> UInt64 {
            (x &+ ones &* (0x80 - lo)) & ~(x &+ ones &* (0x7F - hi)) & highs
        }
        let digit = inRange(word, 0x30, 0x39)
        let letter = inRange(word | (ones &* 0x20), 0x61, 0x66)
        guard digit | letter == highs else { return nil }
        // A letter's nibble is its low four bits + 9 ('a' is 0x61, 'A' 0x41).
        let nibbles = (word & (ones &* 0x0F)) &+ (letter >> 7) &* 9
        // Lanes n0…n7 (n0 first) packed into n0 n1 … n7, most significant first.
        let pairs = ((nibbles << 4) | (nibbles >> 8)) & 0x00FF_00FF_00FF_00FF
        let quads = ((pairs << 8) | (pairs >> 16)) & 0x0000_FFFF_0000_FFFF
        return ((quads << 16) | (quads >> 32)) & 0xFFFF_FFFF
    }
}
