import PeriscopeTelemetry

/// logfmt (`level=info msg="hello world" duration=12ms`): values stay strings, a bare key is
/// `true`. `nil` when the line has no `key=value` pair at all, or an unterminated quote.
enum LogfmtParser {
    static func parse(_ text: String) -> [(String, AttributeValue)]? {
        var fields: [(String, AttributeValue)] = []
        var sawPair = false
        let scalars = Array(text.unicodeScalars)
        var index = 0
        func isSpace(_ scalar: Unicode.Scalar) -> Bool { scalar == " " || scalar == "\t" }
        while index < scalars.count {
            while index < scalars.count, isSpace(scalars[index]) { index += 1 }
            guard index < scalars.count else { break }
            var key = String.UnicodeScalarView()
            while index < scalars.count, !isSpace(scalars[index]), scalars[index] != "=" {
                guard scalars[index] != "\"" else { return nil }
                key.append(scalars[index])
                index += 1
            }
            guard !key.isEmpty else { return nil }
            guard index < scalars.count, scalars[index] == "=" else {
                fields.append((String(key), .bool(true)))
                continue
            }
            index += 1
            var value = String.UnicodeScalarView()
            if index < scalars.count, scalars[index] == "\"" {
                index += 1
                var closed = false
                while index < scalars.count {
                    let scalar = scalars[index]
                    index += 1
                    if scalar == "\\", index < scalars.count {
                        let next = scalars[index]
                        index += 1
                        switch next {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        default: value.append(next)
                        }
                    } else if scalar == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(scalar)
                    }
                }
                guard closed else { return nil }
            } else {
                while index < scalars.count, !isSpace(scalars[index]) {
                    value.append(scalars[index])
                    index += 1
                }
            }
            sawPair = true
            fields.append((String(key), .string(String(value))))
        }
        return sawPair ? fields : nil
    }
}
