import PeriscopeTelemetry

/// The fields of one parsed line, in line order, without a `String` or an `AttributeValue` per
/// field: keys and string values are bytes in one buffer reused line after line, and each
/// field keeps ranges into it. Strings are valid UTF-8 (the record text is, and decoded escapes are).
struct ParsedFields {
    enum Value {
        case string(Range<Int>)
        case int(Int64)
        case double(Double)
        case bool(Bool)
        case null
        /// Arrays and empty objects, rare in log lines: kept in the data model.
        case structured(AttributeValue)
    }

    struct Field {
        var key: Range<Int>
        var value: Value
    }

    private(set) var bytes: [UInt8] = []
    private(set) var fields: [Field] = []

    /// Empties the list, keeping its storage for the next line.
    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        fields.removeAll(keepingCapacity: true)
    }

    mutating func append(key: Range<Int>, _ value: Value) { fields.append(Field(key: key, value: value)) }

    /// Stores bytes (a key or a string value) and returns where they are.
    mutating func store(_ utf8: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        let start = bytes.count
        bytes.append(contentsOf: utf8)
        return start..<bytes.count
    }

    mutating func store(_ text: String) -> Range<Int> {
        let start = bytes.count
        bytes.append(contentsOf: text.utf8)
        return start..<bytes.count
    }

    mutating func store(byte: UInt8) { bytes.append(byte) }

    /// Stores `prefix.key` (a flattened nested key) from two stored ranges.
    mutating func storeDotted(_ prefix: Range<Int>, _ key: Range<Int>) -> Range<Int> {
        let start = bytes.count
        bytes.reserveCapacity(start + prefix.count + 1 + key.count)
        for index in prefix { bytes.append(bytes[index]) }
        bytes.append(UInt8(ascii: "."))
        for index in key { bytes.append(bytes[index]) }
        return start..<bytes.count
    }

    /// Where a string being stored byte by byte (`store(byte:)`) started.
    var end: Int { bytes.count }

    func withBytes<Result>(_ range: Range<Int>, _ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    func string(_ range: Range<Int>) -> String {
        withBytes(range) { String(decoding: $0, as: UTF8.self) }
    }

    /// A field's value in the data model (for the rare paths that need one).
    func attributeValue(_ value: Value) -> AttributeValue {
        switch value {
        case .string(let range): return .string(string(range))
        case .int(let number): return .int(number)
        case .double(let number): return .double(number)
        case .bool(let flag): return .bool(flag)
        case .null: return .empty
        case .structured(let value): return value
        }
    }
}
