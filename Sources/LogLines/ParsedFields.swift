import PeriscopeModel

/// The fields of one parsed line, in line order, without a `String` or an `AttributeValue` per
/// field. A key or string value is a range of bytes: in the record's text when it is there as
/// is (no escapes), otherwise in `scratch` (decoded escapes, dotted keys of nested objects),
/// addressed after the text. Everything is valid UTF-8: the record text is, and decoded
/// escapes are. The text is borrowed: a field list is valid only while its record's text is.
package struct ParsedFields {
    package enum Value {
        case string(Range<Int>)
        case int(Int64)
        case double(Double)
        case bool(Bool)
        case null
        /// Arrays and empty objects, rare in log lines: kept in the data model, in `structured`
        /// at this index (so that a field holds no reference and copies for free).
        case structured(Int)

        package var isNull: Bool {
            if case .null = self { return true }
            return false
        }
    }

    package struct Field {
        package var key: Range<Int>
        package var value: Value
    }

    package private(set) var text = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    package private(set) var scratch: [UInt8] = []
    package private(set) var fields: [Field] = []
    package private(set) var structured: [AttributeValue] = []

    package init() {}

    /// Starts the list of a new record whose text is `text` (keeping storage from the last one).
    package mutating func beginRecord(_ text: UnsafeBufferPointer<UInt8>) {
        self.text = text
        scratch.removeAll(keepingCapacity: true)
        fields.removeAll(keepingCapacity: true)
        structured.removeAll(keepingCapacity: true)
    }

    /// Lets go of the borrowed text once its record is written.
    package mutating func endRecord() { text = UnsafeBufferPointer(start: nil, count: 0) }

    package mutating func append(key: Range<Int>, _ value: Value) { fields.append(Field(key: key, value: value)) }

    /// Keeps a value in the data model and returns the field value that refers to it.
    package mutating func store(_ value: AttributeValue) -> Value {
        structured.append(value)
        return .structured(structured.count - 1)
    }

    /// Copies bytes into the scratch buffer and returns where they are.
    package mutating func store(_ utf8: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        let start = end
        scratch.append(contentsOf: utf8)
        return start..<end
    }

    package mutating func store(_ text: String) -> Range<Int> {
        let start = end
        scratch.append(contentsOf: text.utf8)
        return start..<end
    }

    package mutating func store(byte: UInt8) { scratch.append(byte) }

    /// Stores `prefix.key` (a flattened nested key) from two ranges.
    package mutating func storeDotted(_ prefix: Range<Int>, _ key: Range<Int>) -> Range<Int> {
        let start = end
        var joined: [UInt8] = []
        joined.reserveCapacity(prefix.count + 1 + key.count)
        withBytes(prefix) { joined.append(contentsOf: $0) }
        joined.append(UInt8(ascii: "."))
        withBytes(key) { joined.append(contentsOf: $0) }
        scratch += joined
        return start..<end
    }

    /// Where the next stored byte goes (the start of a string stored byte by byte).
    package var end: Int { text.count + scratch.count }

    package func withBytes<Result>(_ range: Range<Int>, _ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        if range.upperBound <= text.count { return try body(UnsafeBufferPointer(rebasing: text[range])) }
        let offset = text.count
        return try scratch.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[(range.lowerBound - offset)..<(range.upperBound - offset)])) }
    }

    package func string(_ range: Range<Int>) -> String {
        withBytes(range) { String(decoding: $0, as: UTF8.self) }
    }

    /// A field's value in the data model (for the rare paths that need one).
    package func attributeValue(_ value: Value) -> AttributeValue {
        switch value {
        case .string(let range): return .string(string(range))
        case .int(let number): return .int(number)
        case .double(let number): return .double(number)
        case .bool(let flag): return .bool(flag)
        case .null: return .empty
        case .structured(let index): return structured[index]
        }
    }
}
