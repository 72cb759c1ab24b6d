import PeriscopeTelemetry

/// Level names and numbers → OTLP severity. Numbers 10–60 in steps of ten are pino/bunyan
/// levels; other numbers 1–24 are taken as OTLP severity numbers.
/// See https://opentelemetry.io/docs/specs/otel/logs/data-model-appendix/#appendix-b-severitynumber-example-mappings
enum SeverityParser {
    static func severity(_ value: AttributeValue) -> (Severity, String)? {
        switch value {
        case .int(let number): return severity(number: Int(clamping: number))
        case .double(let number): return severity(number: number)
        case .string(let text): return severity(text: text)
        default: return nil
        }
    }

    static func severity(number: Int) -> (Severity, String)? {
        numeric(number).map { ($0, $0.name) }
    }

    /// A fractional level counts by its whole part; one too large for an `Int` is no level.
    static func severity(number: Double) -> (Severity, String)? {
        guard number.isFinite, let whole = Int(exactly: number.rounded(.towardZero)) else { return nil }
        return severity(number: whole)
    }

    /// A level name, or a number written as text; the text is kept as the severity text.
    static func severity(text: String) -> (Severity, String)? {
        if let number = Int(text) { return numeric(number).map { ($0, text) } }
        return named(text).map { ($0, text) }
    }

    static func numeric(_ number: Int) -> Severity? {
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

    static func named(_ text: String) -> Severity? {
        switch text.lowercased() {
        case "trace", "trc", "finest", "finer": return .trace
        case "debug", "dbg", "fine", "verbose": return .debug
        case "info", "inf", "information", "informational": return .info
        case "notice": return Severity(rawValue: 10)
        case "warn", "warning", "wrn": return .warn
        case "error", "err", "eror", "severe": return .error
        case "critical", "crit", "alert": return Severity(rawValue: 19)
        case "fatal", "panic", "emerg", "emergency", "ftl": return .fatal
        default: return nil
        }
    }
}
