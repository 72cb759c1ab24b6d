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
            var words: (UInt64, UInt64) = (0, 0)
            if let base = bytes.baseAddress {
                withUnsafeMutableBytes(of: &words) { $0.baseAddress!.copyMemory(from: base, byteCount: bytes.count) }
            }
            (low, high) = (UInt64(littleEndian: words.0), UInt64(littleEndian: words.1))
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
}
