import PeriscopeModel

/// What the store looks things up by, as a 64-bit hash (FNV-1a over a tag and the strings): for
/// a trace search, every trace, a service, a service's operation, a failed span, an indexed
/// attribute's `key=value`; for logs, a trace ID and a correlation ID. A hash collision only
/// adds a candidate that verification drops, so terms need no dictionary. Stable across runs
/// and builds: the hashes are on disk.
enum SearchTerm {
    /// Every trace of the block.
    static let all = FNV1a64(tag: 0).value
    /// Traces with a span whose status is error.
    static let error = FNV1a64(tag: 1).value

    static func service(_ service: String) -> UInt64 {
        var hasher = FNV1a64(tag: 2)
        hasher.add(service)
        return hasher.value
    }

    static func operation(service: String, name: String) -> UInt64 {
        var hasher = FNV1a64(tag: 3)
        hasher.add(service)
        hasher.add(name)
        return hasher.value
    }

    /// An attribute as searches compare it: by its text (`AttributeValue.text`).
    static func attribute(key: String, text: String) -> UInt64 {
        var hasher = FNV1a64(tag: 4)
        hasher.add(key)
        hasher.add(text)
        return hasher.value
    }

    /// A log record's trace (`LogKeys`).
    static func logTrace(_ traceID: TraceID) -> UInt64 {
        var hasher = FNV1a64(tag: 5)
        hasher.add(traceID.high)
        hasher.add(traceID.low)
        return hasher.value
    }

    /// A log record's correlation ID (`LogKeys`).
    static func logCorrelation(_ correlationID: String) -> UInt64 {
        var hasher = FNV1a64(tag: 6)
        hasher.add(correlationID)
        return hasher.value
    }
}

/// FNV-1a, 64 bits: a tag byte, then strings separated by 0xFF (which never occurs in UTF-8) and
/// integers as 8 little-endian bytes. Cheap for the short strings of spans, and stable.
struct FNV1a64 {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    init(tag: UInt8) { value = Self.mix(value, tag) }

    @inline(__always)
    private static func mix(_ hash: UInt64, _ byte: UInt8) -> UInt64 {
        (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }

    mutating func add(_ text: String) {
        var hash = Self.mix(value, 0xff)
        let contiguous: Void? = text.utf8.withContiguousStorageIfAvailable { bytes in
            for byte in bytes { hash = Self.mix(hash, byte) }
        }
        if contiguous == nil {
            for byte in text.utf8 { hash = Self.mix(hash, byte) }
        }
        value = hash
    }

    mutating func add(_ number: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { value = Self.mix(value, UInt8(truncatingIfNeeded: number >> UInt64(shift))) }
    }
}
