/// A map from 64-bit keys to non-negative integers for the per-span lookups of block encoding
/// (string hashes, search terms, packed index pairs): open addressing with linear probing and a
/// multiplicative spread of the key, several times cheaper than `Dictionary`'s seeded hashing.
struct IntegerMap {
    private var keys: [UInt64]
    /// -1 marks an empty slot.
    private var values: [Int]
    private(set) var count = 0
    private var shift: UInt64

    init(capacity: Int = 64) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        keys = [UInt64](repeating: 0, count: size)
        values = [Int](repeating: -1, count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    subscript(key: UInt64) -> Int? {
        var index = slot(key)
        while values[index] >= 0 {
            if keys[index] == key { return values[index] }
            index = (index + 1) & (values.count - 1)
        }
        return nil
    }

    /// Sets the value of `key` (`value` ≥ 0).
    mutating func set(_ key: UInt64, _ value: Int) {
        if (count + 1) * 2 > values.count { grow() }
        var index = slot(key)
        while values[index] >= 0 {
            if keys[index] == key {
                values[index] = value
                return
            }
            index = (index + 1) & (values.count - 1)
        }
        keys[index] = key
        values[index] = value
        count += 1
    }

    private mutating func grow() {
        let old = zip(keys, values).filter { $0.1 >= 0 }
        self = IntegerMap(capacity: values.count)
        for (key, value) in old { set(key, value) }
    }
}
