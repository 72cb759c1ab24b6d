/// A map from 64-bit keys to non-negative integers for the per-item lookups of block encoding
/// and rollups (string hashes, search terms, packed index pairs): open addressing with linear
/// probing and a multiplicative spread of the key, several times cheaper than `Dictionary`'s
/// seeded hashing. `Value` is the width the caller stores (`Int32` halves a rollup's memory).
struct IntegerMap<Value: FixedWidthInteger & SignedInteger> {
    private var keys: [UInt64]
    /// -1 marks an empty slot.
    private var values: [Value]
    private(set) var count = 0
    private var shift: UInt64

    init(capacity: Int = 32) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        keys = [UInt64](repeating: 0, count: size)
        values = [Value](repeating: -1, count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    /// Two 32-bit indices packed into one key.
    static func key(_ high: Int32, _ low: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: high)) << 32 | UInt64(UInt32(bitPattern: low))
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    subscript(key: UInt64) -> Value? {
        var index = slot(key)
        while values[index] >= 0 {
            if keys[index] == key { return values[index] }
            index = (index + 1) & (values.count - 1)
        }
        return nil
    }

    /// Sets the value of `key` (`value` ≥ 0).
    mutating func set(_ key: UInt64, _ value: Value) {
        precondition(value >= 0, "IntegerMap stores non-negative values")
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

    /// The value stored for `key`; if there is none, stores `next` (≥ 0) for it and returns `nil`.
    @inline(__always)
    mutating func index(_ key: UInt64, insertingIfAbsent next: Value) -> Value? {
        precondition(next >= 0, "IntegerMap stores non-negative values")
        var index = slot(key)
        while values[index] >= 0 {
            if keys[index] == key { return values[index] }
            index = (index + 1) & (values.count - 1)
        }
        keys[index] = key
        values[index] = next
        count += 1
        if count * 2 > values.count { grow() }
        return nil
    }

    private mutating func grow() {
        let old = zip(keys, values).filter { $0.1 >= 0 }
        self = IntegerMap(capacity: values.count)
        for (key, value) in old { set(key, value) }
    }
}
