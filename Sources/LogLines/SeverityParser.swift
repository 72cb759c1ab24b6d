import PeriscopeModel

/// Level names and numbers → OTLP severity. Numbers 10–60 in steps of ten are pino/bunyan
/// levels; other numbers 1–24 are taken as OTLP severity numbers.
/// See https://opentelemetry.io/docs/specs/otel/logs/data-model-appendix/#appendix-b-severitynumber-example-mappings
package enum SeverityParser {
    package static func severity(number: Int) -> (Severity, String)? {
        numeric(number).map { ($0, $0.name) }
    }

    /// A fractional level counts by its whole part; one too large for an `Int` is no level.
    package static func severity(number: Double) -> (Severity, String)? {
        guard number.isFinite, let whole = Int(exactly: number.rounded(.towardZero)) else { return nil }
        return severity(number: whole)
    }

    /// A level name, or a number written as text, from its bytes.
    package static func severity(utf8: UnsafeBufferPointer<UInt8>) -> Severity? {
        let digits = utf8.first == UInt8(ascii: "-") || utf8.first == UInt8(ascii: "+") ? UnsafeBufferPointer(rebasing: utf8.dropFirst()) : utf8
        if !digits.isEmpty, digits.allSatisfy({ $0 &- 0x30 < 10 }) {
            // What `Int(text)` accepts; a number too large for an `Int` is no level.
            return Int(String(decoding: utf8, as: UTF8.self)).flatMap(numeric)
        }
        return named(utf8)
    }

    package static func numeric(_ number: Int) -> Severity? {
        switch number {
        case 10: return .trace
        case 20: return .debug
        case 30: return .info
        case 40: return .warn
        case 50: return .error
        case 60: return .fatal
        case 1...24: return Severity(rawValue: number)
        default: return nil
        }
    }

    /// A level name in any letter case (ASCII: lowercasing nothing else yields one of the names).
    package static func named(_ utf8: UnsafeBufferPointer<UInt8>) -> Severity? {
        guard let packed = ShortText(utf8, lowercasing: true) else { return nil }
        for (name, severity) in names where name == packed { return severity }
        return nil
    }

    private static let names: [(ShortText, Severity)] = [
        (["trace", "trc", "finest", "finer"], Severity.trace), (["debug", "dbg", "fine", "verbose"], .debug),
        (["info", "inf", "information", "informational"], .info), (["notice"], Severity(rawValue: 10)),
        (["warn", "warning", "wrn"], .warn), (["error", "err", "eror", "severe"], .error),
        (["critical", "crit", "alert"], Severity(rawValue: 19)), (["fatal", "panic", "emerg", "emergency", "ftl"], .fatal),
    ].flatMap { names, severity in names.map { (ShortText($0), severity) } }
}
