import PeriscopeModel

/// A small, strict JSON parser for one log line: the top level must be an object. Nested
/// objects are flattened into dotted keys (`http.status`); arrays stay arrays. Hostile input
/// gets `false`, never a crash: nesting is capped and numbers that do not fit become doubles.
/// Works on the line's bytes: keys and strings are ranges of the line unless escapes had to be
/// decoded — no `String` per field.
package enum JSONLineParser {
    package static let maxDepth = 32

    /// Bytes of decoded keys and strings kept aside for a text of `count` bytes: dotted keys repeat
    /// their object's key for every member, so a long key over many members would grow without
    /// end; a record past this is kept whole. (Decoded escapes are never longer than the text.)
    package static func maxScratch(forText count: Int) -> Int { 4 * count + 4096 }

    /// Parses `text` (the text `fields` began with) into `fields`; false when it is not one JSON
    /// object (what `fields` then holds is to be discarded).
    package static func parseObject(_ text: UnsafeBufferPointer<UInt8>, into fields: inout ParsedFields) -> Bool {
        var parser = Cursor(bytes: text)
        parser.skipWhitespace()
        guard parser.peek == UInt8(ascii: "{"), parser.parseObject(prefix: nil, depth: 0, into: &fields) else { return false }
        parser.skipWhitespace()
        return parser.atEnd
    }

    /// The high bit of each of the eight bytes (little-endian) that may be `"`, `\` or below
    /// 0x20; zero when none is. The lowest set bit is exact: a borrow can only flag a byte
    /// above a true match, so `trailingZeroBitCount / 8` is the first stop's offset.
    @inline(__always)
    package static func stringStops(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let zeroQuote = (quote &- ones) & ~quote
        let zeroBackslash = (backslash &- ones) & ~backslash
        let control = (word &- ones &* 0x20) & ~word
        return (zeroQuote | zeroBackslash | control) & 0x8080_8080_8080_8080
    }

    private struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0
        let scratchLimit: Int

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
            scratchLimit = JSONLineParser.maxScratch(forText: bytes.count)
        }

        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D { index += 1 }
        }

        mutating func expect(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard peek == byte else { return false }
            index += 1
            return true
        }

        /// Parses `{…}` flattening members into `fields` under `prefix`.
        mutating func parseObject(prefix: Range<Int>?, depth: Int, into fields: inout ParsedFields) -> Bool {
            guard depth < JSONLineParser.maxDepth, expect(UInt8(ascii: "{")) else { return false }
            skipWhitespace()
            if peek == UInt8(ascii: "}") { index += 1; return true }
            while true {
                skipWhitespace()
                guard let key = parseString(into: &fields), expect(UInt8(ascii: ":")) else { return false }
                skipWhitespace()
                var fullKey = key
                if let prefix, !prefix.isEmpty {
                    fullKey = fields.storeDotted(prefix, key)
                    guard fields.scratch.count <= scratchLimit else { return false }
                }
                if peek == UInt8(ascii: "{") {
                    let before = fields.fields.count
                    guard parseObject(prefix: fullKey, depth: depth + 1, into: &fields) else { return false }
                    if fields.fields.count == before { fields.append(key: fullKey, fields.store(.keyValueList([]))) }
                } else {
                    guard let value = parseValue(depth: depth + 1, into: &fields) else { return false }
                    fields.append(key: fullKey, value)
                }
                skipWhitespace()
                guard let next = peek else { return false }
                index += 1
                if next == UInt8(ascii: "}") { return true }
                guard next == UInt8(ascii: ",") else { return false }
            }
        }

        /// A member's value: strings stay bytes in `fields`; arrays become data-model values.
        mutating func parseValue(depth: Int, into fields: inout ParsedFields) -> ParsedFields.Value? {
            guard depth < JSONLineParser.maxDepth else { return nil }
            skipWhitespace()
            switch peek {
            case UInt8(ascii: "\"")?: return parseString(into: &fields).map(ParsedFields.Value.string)
            case UInt8(ascii: "{")?, UInt8(ascii: "[")?: return parseElement(depth: depth).map { fields.store($0) }
            default: return parseScalar()
            }
        }

        /// A value inside an array, in the data model.
        mutating func parseElement(depth: Int) -> AttributeValue? {
            guard depth < JSONLineParser.maxDepth else { return nil }
            skipWhitespace()
            guard let byte = peek else { return nil }
            switch byte {
            case UInt8(ascii: "\""):
                var scratch = ParsedFields()
                scratch.beginRecord(bytes)
                return parseString(into: &scratch).map { .string(scratch.string($0)) }
            case UInt8(ascii: "{"):
                var nested = ParsedFields()
                nested.beginRecord(bytes)
                guard parseObject(prefix: nil, depth: depth, into: &nested) else { return nil }
                return .keyValueList(nested.fields.map { Attribute(nested.string($0.key), nested.attributeValue($0.value)) })
            case UInt8(ascii: "["):
                index += 1
                var values: [AttributeValue] = []
                skipWhitespace()
                if peek == UInt8(ascii: "]") { index += 1; return .array(values) }
                while true {
                    guard let value = parseElement(depth: depth + 1) else { return nil }
                    values.append(value)
                    skipWhitespace()
                    guard let next = peek else { return nil }
                    index += 1
                    if next == UInt8(ascii: "]") { return .array(values) }
                    guard next == UInt8(ascii: ",") else { return nil }
                }
            default:
                return parseScalar().map(ParsedFields().attributeValue)
            }
        }

        /// `true`, `false`, `null` or a number.
        mutating func parseScalar() -> ParsedFields.Value? {
            switch peek {
            case UInt8(ascii: "t")?: return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f")?: return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n")?: return literal("null") ? .null : nil
            default: return parseNumber()
            }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
            index += count
            return true
        }

        mutating func parseNumber() -> ParsedFields.Value? {
            let start = index
            var isInteger = true
            let negative = peek == UInt8(ascii: "-")
            if negative { index += 1 }
            while let byte = peek {
                if byte >= 0x30 && byte <= 0x39 {
                    index += 1
                } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") {
                    isInteger = false
                    index += 1
                } else {
                    break
                }
            }
            guard index > start else { return nil }
            if isInteger, let value = Self.integer(UnsafeBufferPointer(rebasing: bytes[(negative ? start + 1 : start)..<index]), negative: negative) {
                return .int(value)
            }
            if !isInteger, let value = Self.decimal(UnsafeBufferPointer(rebasing: bytes[(negative ? start + 1 : start)..<index]), negative: negative) {
                return .double(value)
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if isInteger, let value = Int64(text) { return .int(value) }
            guard let value = Double(text), value.isFinite else { return nil }
            return .double(value)
        }

        /// Decimal digits that fit in an `Int64`; nil for none, or on overflow (then a double).
        static func integer(_ digits: UnsafeBufferPointer<UInt8>, negative: Bool) -> Int64? {
            guard !digits.isEmpty, digits.count <= 18 else { return nil }
            var value: Int64 = 0
            for digit in digits { value = value * 10 + Int64(digit - 0x30) }
            return negative ? -value : value
        }

        /// `digits.digits` with at most 15 digits in all, without a `String`: the digits and the
        /// power of ten are exact doubles, so one division rounds exactly as `Double(text)` does
        /// (Clinger's fast path). Nil for anything else (exponents, more digits), parsed by `Double`.
        static func decimal(_ text: UnsafeBufferPointer<UInt8>, negative: Bool) -> Double? {
            guard let dot = text.firstIndex(of: UInt8(ascii: ".")), dot > 0, dot < text.count - 1, text.count <= 16 else { return nil }
            var mantissa: Int64 = 0
            for (index, byte) in text.enumerated() where index != dot {
                guard byte &- 0x30 < 10 else { return nil }
                mantissa = mantissa * 10 + Int64(byte - 0x30)
            }
            let value = Double(mantissa) / powersOfTen[text.count - 1 - dot]
            return negative ? -value : value
        }

        private static let powersOfTen: [Double] = (0...15).map { (0..<$0).reduce(1.0) { value, _ in value * 10 } }

        /// Parses a string, storing its decoded bytes in `fields`.
        mutating func parseString(into fields: inout ParsedFields) -> Range<Int>? {
            guard peek == UInt8(ascii: "\"") else { return nil }
            index += 1
            let start = index
            // Fast path: no escapes. Eight bytes at a time to the first one that ends the string,
            // starts an escape or is a control character.
            if let base = bytes.baseAddress {
                while index + 8 <= bytes.count {
                    let stops = JSONLineParser.stringStops(UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)))
                    if stops != 0 {
                        index += stops.trailingZeroBitCount >> 3
                        break
                    }
                    index += 8
                }
            }
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    // The string as it stands in the line: no copy.
                    index += 1
                    return start..<(index - 1)
                }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { return nil }
                index += 1
            }
            let begin = fields.end
            _ = fields.store(UnsafeBufferPointer(rebasing: bytes[start..<index]))
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\"") { return begin..<fields.end }
                if byte < 0x20 { return nil }
                guard byte == UInt8(ascii: "\\") else { fields.store(byte: byte); continue }
                guard let escaped = peek else { return nil }
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): fields.store(byte: escaped)
                case UInt8(ascii: "b"): fields.store(byte: 0x08)
                case UInt8(ascii: "f"): fields.store(byte: 0x0C)
                case UInt8(ascii: "n"): fields.store(byte: 0x0A)
                case UInt8(ascii: "r"): fields.store(byte: 0x0D)
                case UInt8(ascii: "t"): fields.store(byte: 0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if (0xD800...0xDBFF).contains(scalar) {
                        if literal("\\u"), let low = hex4(), (0xDC00...0xDFFF).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            scalar = 0xFFFD
                        }
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        scalar = 0xFFFD
                    }
                    UTF8.encode(Unicode.Scalar(scalar) ?? "\u{FFFD}") { fields.store(byte: $0) }
                default: return nil
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                default: return nil
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }
    }
}
