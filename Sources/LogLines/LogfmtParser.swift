/// logfmt (`level=info msg="hello world" duration=12ms`): values stay strings, a bare key is
/// `true`. False when the line has no `key=value` pair at all, or an unterminated quote.
package enum LogfmtParser {
    /// Parses `text` (the text `fields` began with); keys and bare values are ranges of it.
    package static func parse(_ text: UnsafeBufferPointer<UInt8>, into fields: inout ParsedFields) -> Bool {
        var sawPair = false
        var index = 0
        let count = text.count
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        while index < count {
            while index < count, isSpace(text[index]) { index += 1 }
            guard index < count else { break }
            let keyStart = index
            while index < count, !isSpace(text[index]), text[index] != UInt8(ascii: "=") {
                guard text[index] != UInt8(ascii: "\"") else { return false }
                index += 1
            }
            guard index > keyStart else { return false }
            let key = keyStart..<index
            guard index < count, text[index] == UInt8(ascii: "=") else {
                fields.append(key: key, .bool(true))
                continue
            }
            index += 1
            let value: Range<Int>
            if index < count, text[index] == UInt8(ascii: "\"") {
                index += 1
                let begin = fields.end
                var closed = false
                while index < count {
                    let byte = text[index]
                    index += 1
                    if byte == UInt8(ascii: "\\"), index < count {
                        let next = text[index]
                        index += 1
                        switch next {
                        case UInt8(ascii: "n"): fields.store(byte: 0x0A)
                        case UInt8(ascii: "t"): fields.store(byte: 0x09)
                        default: fields.store(byte: next)
                        }
                    } else if byte == UInt8(ascii: "\"") {
                        closed = true
                        break
                    } else {
                        fields.store(byte: byte)
                    }
                }
                guard closed else { return false }
                value = begin..<fields.end
            } else {
                let start = index
                while index < count, !isSpace(text[index]) { index += 1 }
                value = start..<index
            }
            sawPair = true
            fields.append(key: key, .string(value))
        }
        return sawPair
    }
}
