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
        if !lowercasing {
            (low, high) = Self.pack(bytes)
            return
        }
        for (index, byte) in bytes.enumerated() {
            var byte = byte
            guard byte < 0x80 else { return nil }
            if byte &- 0x41 < 26 { byte |= 0x20 }
            if index < 8 { low |= UInt64(byte) << UInt64(index * 8) } else { high |= UInt64(byte) << UInt64((index - 8) * 8) }
        }
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
