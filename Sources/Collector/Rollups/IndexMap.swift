/// A hash map from 64-bit keys (two 32-bit indices packed) to 32-bit array indices: open
/// addressing with a multiplicative hash. A flush looks up several aggregates per span, and
/// `Dictionary`'s SipHash costs more than everything else it does for the span.
struct IndexMap {
    private var keys: [UInt64]
    /// -1 marks an empty slot.
    private var values: [Int32]
    private var shift: UInt64
    private(set) var count = 0

    init() {
        keys = Array(repeating: 0, count: 64)
        values = Array(repeating: -1, count: 64)
        shift = 64 - 6
    }

    static func key(_ high: Int32, _ low: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: high)) << 32 | UInt64(UInt32(bitPattern: low))
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    /// The index stored for `key`; if there is none, stores `next` for it and returns `nil`.
    @inline(__always)
    mutating func index(_ key: UInt64, insertingIfAbsent next: Int32) -> Int32? {
        var slot = slot(key)
        while true {
            let value = values[slot]
            if value < 0 { break }
            if keys[slot] == key { return value }
            slot = (slot + 1) & (values.count - 1)
        }
        keys[slot] = key
        values[slot] = next
        count += 1
        if count * 2 > values.count { grow() }
        return nil
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        keys = Array(repeating: 0, count: oldValues.count * 2)
        values = Array(repeating: -1, count: oldValues.count * 2)
        shift -= 1
        for position in oldValues.indices where oldValues[position] >= 0 {
            var slot = slot(oldKeys[position])
            while values[slot] >= 0 { slot = (slot + 1) & (values.count - 1) }
            keys[slot] = oldKeys[position]
            values[slot] = oldValues[position]
        }
    }
}
