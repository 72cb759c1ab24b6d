import PeriscopeTelemetry

/// A small, strict JSON parser for one log line: the top level must be an object. Nested
/// objects are flattened into dotted keys (`http.status`); arrays stay arrays. Hostile input
/// gets `nil`, never a crash: nesting is capped and numbers that do not fit become doubles.
struct JSONLineParser {
    static let maxDepth = 32

    static func parseObject(_ text: String) -> [(String, AttributeValue)]? {
        var text = text
        return text.withUTF8 { bytes -> [(String, AttributeValue)]? in
            var parser = Cursor(bytes: bytes)
            parser.skipWhitespace()
            guard parser.peek == UInt8(ascii: "{") else { return nil }
            var fields: [(String, AttributeValue)] = []
            guard parser.parseObject(prefix: "", depth: 0, into: &fields) else { return nil }
            parser.skipWhitespace()
            guard parser.atEnd else { return nil }
            return fields
        }
    }

    private struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

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
        mutating func parseObject(prefix: String, depth: Int, into fields: inout [(String, AttributeValue)]) -> Bool {
            guard depth < JSONLineParser.maxDepth, expect(UInt8(ascii: "{")) else { return false }
            skipWhitespace()
            if peek == UInt8(ascii: "}") { index += 1; return true }
            while true {
                skipWhitespace()
                guard let key = parseString(), expect(UInt8(ascii: ":")) else { return false }
                skipWhitespace()
                let fullKey = prefix.isEmpty ? key : prefix + "." + key
                if peek == UInt8(ascii: "{") {
                    let before = fields.count
                    guard parseObject(prefix: fullKey, depth: depth + 1, into: &fields) else { return false }
                    if fields.count == before { fields.append((fullKey, .keyValueList([]))) }
                } else {
                    guard let value = parseValue(depth: depth + 1) else { return false }
                    fields.append((fullKey, value))
                }
                skipWhitespace()
                guard let next = peek else { return false }
                index += 1
                if next == UInt8(ascii: "}") { return true }
                guard next == UInt8(ascii: ",") else { return false }
            }
        }

        mutating func parseValue(depth: Int) -> AttributeValue? {
            guard depth < JSONLineParser.maxDepth else { return nil }
            skipWhitespace()
            guard let byte = peek else { return nil }
            switch byte {
            case UInt8(ascii: "\""):
                return parseString().map(AttributeValue.string)
            case UInt8(ascii: "{"):
                var nested: [(String, AttributeValue)] = []
                guard parseObject(prefix: "", depth: depth, into: &nested) else { return nil }
                return .keyValueList(nested.map { Attribute($0.0, $0.1) })
            case UInt8(ascii: "["):
                index += 1
                var values: [AttributeValue] = []
                skipWhitespace()
                if peek == UInt8(ascii: "]") { index += 1; return .array(values) }
                while true {
                    guard let value = parseValue(depth: depth + 1) else { return nil }
                    values.append(value)
                    skipWhitespace()
                    guard let next = peek else { return nil }
                    index += 1
                    if next == UInt8(ascii: "]") { return .array(values) }
                    guard next == UInt8(ascii: ",") else { return nil }
                }
            case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return literal("null") ? .empty : nil
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

        mutating func parseNumber() -> AttributeValue? {
            let start = index
            var isInteger = true
            if peek == UInt8(ascii: "-") { index += 1 }
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
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if isInteger, let value = Int64(text) { return .int(value) }
            guard let value = Double(text), value.isFinite else { return nil }
            return .double(value)
        }

        mutating func parseString() -> String? {
            guard peek == UInt8(ascii: "\"") else { return nil }
            index += 1
            let start = index
            // Fast path: no escapes.
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                    index += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { return nil }
                index += 1
            }
            var out = Array(bytes[start..<index])
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
                if byte < 0x20 { return nil }
                guard byte == UInt8(ascii: "\\") else { out.append(byte); continue }
                guard let escaped = peek else { return nil }
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
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
                    out.append(contentsOf: String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8)
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
