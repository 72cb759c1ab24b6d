import PeriscopeOTLP

/// Bytes of a rollup journal entry or rollup bucket that do not decode (truncated, or lengths
/// and indices out of range): the entry is skipped, never misread.
struct DamagedRollupData: Error, CustomStringConvertible, Equatable {
    var description: String {
        "a rollup journal entry or bucket is damaged and was skipped; if this repeats, the partition file is damaged: restore it or delete it"
    }
}

/// A cursor over rollup bytes (varints, length-prefixed strings, fixed doubles) that throws
/// `DamagedRollupData` instead of reading past the end. The bytes must outlive the reader.
struct RollupByteReader {
    let bytes: UnsafeRawBufferPointer
    /// Where the next read starts.
    var position: Int

    init(_ bytes: UnsafeRawBufferPointer, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var isAtEnd: Bool { position >= bytes.count }

    /// Runs `body` over the bytes of an array (`withUnsafeBytes`, keeping the typed error).
    static func reading<T>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(DamagedRollupData) -> T) throws(DamagedRollupData) -> T {
        try array.withUnsafeBytes { raw in Result { () throws(DamagedRollupData) in try body(raw) } }.get()
    }

    @inline(__always)
    mutating func varint() throws(DamagedRollupData) -> UInt64 {
        guard let value = Varint.read(bytes, &position) else { throw DamagedRollupData() }
        return value
    }

    mutating func signed() throws(DamagedRollupData) -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    /// A count or length, which can never exceed the bytes left.
    mutating func count() throws(DamagedRollupData) -> Int {
        let value = try varint()
        guard value <= UInt64(bytes.count - position) else { throw DamagedRollupData() }
        return Int(value)
    }

    /// The next `length` bytes, without a copy.
    mutating func slice(_ length: Int) throws(DamagedRollupData) -> UnsafeRawBufferPointer {
        guard length >= 0, length <= bytes.count - position else { throw DamagedRollupData() }
        defer { position += length }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)])
    }

    /// A length-prefixed string's bytes, without a copy.
    mutating func stringBytes() throws(DamagedRollupData) -> UnsafeRawBufferPointer { try slice(try count()) }

    mutating func string() throws(DamagedRollupData) -> String { String(decoding: try stringBytes(), as: UTF8.self) }

    mutating func double() throws(DamagedRollupData) -> Double {
        let raw = try slice(8)
        var bits: UInt64 = 0
        for index in (0..<8).reversed() { bits = bits << 8 | UInt64(raw[index]) }
        return Double(bitPattern: bits)
    }

    mutating func skip(_ length: Int) throws(DamagedRollupData) { _ = try slice(length) }
}
