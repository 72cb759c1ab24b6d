/// Up to sixteen bytes of text packed into two integers, for comparing a field's key or level
/// with a fixed set of names without building a `String`: two integer comparisons per name.
package struct ShortText: Equatable {
    package var low: UInt64 = 0
    package var high: UInt64 = 0
    package var count: Int

    /// Nil when `bytes` is longer than sixteen bytes, or (when `lowercasing`) not ASCII.
    package init?(_ bytes: UnsafeBufferPointer<UInt8>, lowercasing: Bool = false) {
        guard bytes.count <= 16 else { return nil }
        count = bytes.count
        (low, high) = Self.pack(bytes)
        guard lowercasing else { return }
        guard (low | high) & 0x8080_8080_8080_8080 == 0 else { return nil }
        (low, high) = (Self.lowercased(low), Self.lowercased(high))
    }

    /// Eight ASCII bytes with `A`–`Z` made lowercase: a byte is upper case when adding 0x3F
    /// reaches 0x80 and adding 0x25 does not (no byte above 0x7F, so no carry between bytes).
    @inline(__always)
    private static func lowercased(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let upper = (word &+ ones &* 0x3F) & ~(word &+ ones &* 0x25) & (ones &* 0x80)
        return word | upper >> 2
    }

    package init(_ text: String) {
        var text = text
        // Only called with the fixed names, all sixteen bytes or shorter.
        self = text.withUTF8 { ShortText($0)! }
    }

    /// Up to sixteen bytes as two little-endian words, zero-padded, by overlapping loads that
    /// stay inside `bytes` (a per-key `memcpy` call cost more than the lookup it fed).
    @inline(__always)
    private static func pack(_ bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64) {
        guard let base = bytes.baseAddress else { return (0, 0) }
        let raw = UnsafeRawPointer(base)
        let count = bytes.count
        switch count {
        case 8...16:
            let low = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
            guard count > 8 else { return (low, 0) }
            let tail = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self))
            return (low, tail >> UInt64((16 - count) * 8))
        case 4..<8:
            let head = UInt64(UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)))
            let tail = UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)))
            return (head | tail << UInt64((count - 4) * 8), 0)
        default:
            var low: UInt64 = 0
            for index in 0..<count { low |= UInt64(bytes[index]) << UInt64(index * 8) }
            return (low, 0)
        }
    }
}
