import PeriscopeModel

/// Helpers for laying out text in columns. Everything shown comes from telemetry, which is
/// untrusted: control characters (escape sequences, newlines) are made visible, never sent
/// to the terminal raw.
enum Text {
    /// `text` with control characters escaped (`ControlCharacters`) so one value stays on one
    /// line and cannot drive the terminal.
    static func sanitize(_ text: String) -> String { ControlCharacters.escaped(text) }

    /// Terminal columns `text` takes: wide East Asian characters and emoji count two,
    /// combining marks and zero-width joiners none.
    static func width(_ text: String) -> Int {
        var total = 0
        for character in text {
            total += width(of: character)
        }
        return total
    }

    private static func width(of character: Character) -> Int {
        guard let first = character.unicodeScalars.first else { return 0 }
        if character.unicodeScalars.contains(where: { $0.properties.isEmojiPresentation }) { return 2 }
        switch first.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        return isWide(first.value) ? 2 : 1
    }

    private static func isWide(_ value: UInt32) -> Bool {
        switch value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
             0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
             0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            return true
        default:
            return false
        }
    }

    /// `text` cut to at most `width` columns, ending in `…` when cut.
    static func truncate(_ text: String, to width: Int) -> String {
        guard width > 0 else { return "" }
        guard Text.width(text) > width else { return text }
        var out = ""
        var used = 0
        for character in text {
            let characterWidth = Text.width(of: character)
            if used + characterWidth > width - 1 { break }
            out.append(character)
            used += characterWidth
        }
        return out + "…"
    }

    /// Pads with spaces on the right to `width` columns (never cuts).
    static func padRight(_ text: String, _ width: Int) -> String {
        let missing = width - Text.width(text)
        return missing > 0 ? text + String(repeating: " ", count: missing) : text
    }

    /// Pads with spaces on the left to `width` columns (never cuts).
    static func padLeft(_ text: String, _ width: Int) -> String {
        let missing = width - Text.width(text)
        return missing > 0 ? String(repeating: " ", count: missing) + text : text
    }

    /// `line` without trailing spaces.
    static func trimTrailingSpaces(_ line: String) -> String {
        var line = Substring(line)
        while line.last == " " { line.removeLast() }
        return String(line)
    }

    static func plural(_ count: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(count) " + (count == 1 ? singular : (plural ?? singular + "s"))
    }
}
