import Foundation
import PeriscopeConfig
import PeriscopeModel
import PeriscopeQueryAPI

/// Text made safe for HTML. Every telemetry value reaches a page through `HTML.text` (element
/// content and quoted attribute values alike) or `HTML.query` (inside a link), so a span named
/// `<script>` is shown, never run; the page's CSP forbids scripts besides.
enum HTML {
    /// A value as a page shows it: its first `maxShownCharacters` (then "…"), escaped, so no
    /// one value can make a page large.
    static func text(_ value: String) -> String {
        escape(clipped(value))
    }

    /// Escapes `&`, `<`, `>`, `"` and `'`, and shows control characters, line separators and
    /// bidirectional overrides (`ControlCharacters.isControl`) as `\u{…}`, so no value can
    /// reorder how the text around it displays; newlines and tabs stay (log lines keep them).
    static func escape(_ value: String) -> String {
        // Most values (names, IDs, numbers) are printable ASCII with nothing to escape: kept as they are.
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x26 && $0 != 0x3C && $0 != 0x3E && $0 != 0x22 && $0 != 0x27 }) {
            return value
        }
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\n", "\t": out.unicodeScalars.append(scalar)
            default:
                if ControlCharacters.isControl(scalar) {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Whether `value`, as a page shows it (`text`), shows nothing: every character is white
    /// space, a default-ignorable one (zero-width spaces and joiners, byte-order marks, fillers),
    /// a blank Braille pattern, or a combining mark with nothing to combine with. Escaped
    /// controls show as text, and a value long enough to be clipped ends in a shown "…".
    static func showsNothing(_ value: String) -> Bool {
        if value.utf8.count > maxShownCharacters, value.count > maxShownCharacters { return false }  // as `clipped` cuts
        for scalar in value.unicodeScalars {
            if ControlCharacters.isControl(scalar) {
                guard scalar == "\n" || scalar == "\t" else { return false }
                continue
            }
            // The Ogham space mark is white space drawn as a dash.
            if scalar == "\u{1680}" { return false }
            let properties = scalar.properties
            let blank = scalar == "\u{2800}" || properties.isWhitespace || properties.isDefaultIgnorableCodePoint
                || properties.generalCategory == .nonspacingMark
            guard blank else { return false }
        }
        return true
    }

    /// Characters of one value a page shows; the rest is left out, marked with "…".
    static let maxShownCharacters = 2_048

    /// `value` cut to `maxShownCharacters` (a page shows values whole only up to there).
    static func clipped(_ value: String) -> String {
        guard value.utf8.count > maxShownCharacters, value.count > maxShownCharacters else { return value }
        return String(value.prefix(maxShownCharacters)) + "…"
    }

    /// A link's query string from names and values, each percent-encoded, and the whole then
    /// escaped for the `href` attribute it goes in.
    static func query(_ items: [(String, String)]) -> String {
        escape(queryString(items))
    }

    /// `text` as a link to `path?query`, or as plain text when a value of the query is longer
    /// than `maxShownCharacters` bytes: such a link would search for a value the page does not
    /// show whole, and a thousand rows of a 1 MiB service name's links would make a page of
    /// gigabytes.
    static func link(_ path: String, _ items: [(String, String)], text: String, class name: String? = nil) -> String {
        let shown = self.text(text)
        guard isLinkable(items) else { return shown }
        return "<a\(name.map { " class=\"\($0)\"" } ?? "") href=\"\(path)?\(query(items))\">\(shown)</a>"
    }

    /// Whether a link may carry `items`: none longer than `maxShownCharacters` bytes (`link`).
    static func isLinkable(_ items: [(String, String)]) -> Bool {
        items.allSatisfy { $0.1.utf8.count <= maxShownCharacters }
    }

    /// One path segment, percent-encoded (and escaped for the `href` it goes in).
    static func pathSegment(_ value: String) -> String {
        escape(value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "")
    }

    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    /// A query string from names and values, each percent-encoded (for a `Location` header).
    static func queryString(_ items: [(String, String)]) -> String {
        items.map { name, value in
            "\(name.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "")=\(value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "")"
        }.joined(separator: "&")
    }

    /// `2026-12-07T13:04:51.123Z`.
    static func time(_ unixNano: UInt64) -> String {
        TimestampText.rfc3339Milliseconds(unixNano: unixNano)
    }

    /// As the CLI shows durations (`DurationFormat`).
    static func duration(_ nanos: Double) -> String {
        DurationFormat.string(nanos: nanos)
    }

    /// `12.5%` of a ratio in 0…1.
    static func percent(_ ratio: Double, decimals: Int = 1) -> String {
        guard ratio.isFinite else { return "–" }
        return String(format: "%.\(decimals)f%%", ratio * 100)
    }
}
