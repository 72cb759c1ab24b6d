/// Text from telemetry is untrusted: written to a terminal or a log raw, an escape sequence
/// can clear the screen, fake a line or set the clipboard. Escaping makes such characters
/// visible instead (`\n`, `\t`, `\u{1B}` …), so one value stays on one line and drives nothing.
public enum ControlCharacters {
    /// `text` with control characters, line and paragraph separators and bidirectional
    /// overrides escaped; unchanged (no copy) when it has none.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard isControl(scalar) else { out.unicodeScalars.append(scalar); continue }
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
        }
        return out
    }

    /// Whether `scalar` is one that `escaped` shows as an escape: a C0 or C1 control, a line or
    /// paragraph separator, or a bidirectional override or isolate (which reorder how the text
    /// around them displays).
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029
            || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)  // bidi overrides
    }
}
