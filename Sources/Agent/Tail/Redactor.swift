import Foundation
import PeriscopeTelemetry
import Synchronization

/// Replaces secrets in bodies and string attributes before anything leaves the host, and
/// counts what each rule replaced. The defaults cover e-mail addresses, card numbers (13–19
/// digits, spaces or dashes allowed), `Bearer <token>` and passwords/secrets/tokens in
/// `key=value` or `key: value` form.
final class Redactor: Sendable {
    struct Rule: @unchecked Sendable {
        // NSRegularExpression is immutable and thread-safe once built.
        let name: String
        let expression: NSRegularExpression
        let replacement: String
        /// A byte the text must contain for the rule to possibly match (a cheap pre-check), or nil.
        let requiredByte: UInt8?
        let requiresDigits: Int
    }

    static let defaultRules: [RedactionRule] = [
        RedactionRule(name: "email", pattern: #"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"#, replacement: "[REDACTED_EMAIL]"),
        RedactionRule(name: "card_number", pattern: #"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])"#, replacement: "[REDACTED_CARD]"),
        RedactionRule(name: "bearer_token", pattern: #"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"#, replacement: "Bearer [REDACTED]"),
        RedactionRule(
            name: "password",
            pattern: #"(?i)\b(password|passwd|pwd|secret|token|api_key|apikey)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"']+)"#,
            replacement: "$1$2[REDACTED]"),
    ]

    let rules: [Rule]
    private let counts: Mutex<[Int]>

    init(rules: [RedactionRule], includeDefaults: Bool) {
        let all = (includeDefaults ? Self.defaultRules : []) + rules
        self.rules = all.compactMap { rule in
            guard let expression = try? NSRegularExpression(pattern: rule.pattern) else { return nil }
            let required: UInt8? = rule.pattern == Self.defaultRules[0].pattern ? UInt8(ascii: "@") : nil
            let digits = rule.pattern == Self.defaultRules[1].pattern ? 13 : 0
            return Rule(name: rule.name, expression: expression, replacement: rule.replacement, requiredByte: required, requiresDigits: digits)
        }
        counts = Mutex([Int](repeating: 0, count: self.rules.count))
    }

    var isEmpty: Bool { rules.isEmpty }

    /// Redactions so far, by rule name.
    var redactionsByRule: [String: Int] {
        let snapshot = counts.withLock { $0 }
        var out: [String: Int] = [:]
        for (rule, count) in zip(rules, snapshot) { out[rule.name, default: 0] += count }
        return out
    }

    var totalRedactions: Int { counts.withLock { $0.reduce(0, +) } }

    /// Redacts the body and every string attribute (nested ones too).
    func redact(_ record: inout LogRecord) {
        guard !rules.isEmpty else { return }
        var local = [Int](repeating: 0, count: rules.count)
        record.body = redact(record.body, counts: &local)
        for index in record.attributes.indices {
            record.attributes[index].value = redact(record.attributes[index].value, counts: &local)
        }
        if local.contains(where: { $0 > 0 }) {
            counts.withLock { total in for index in local.indices { total[index] += local[index] } }
        }
    }

    /// Redacts one string; for tests and callers outside log records.
    func redact(_ text: String) -> String {
        var local = [Int](repeating: 0, count: rules.count)
        let out = redact(text, counts: &local)
        counts.withLock { total in for index in local.indices { total[index] += local[index] } }
        return out
    }

    private func redact(_ value: AttributeValue, counts: inout [Int]) -> AttributeValue {
        switch value {
        case .string(let text): return .string(redact(text, counts: &counts))
        case .array(let values): return .array(values.map { redact($0, counts: &counts) })
        case .keyValueList(let pairs): return .keyValueList(pairs.map { Attribute($0.key, redact($0.value, counts: &counts)) })
        default: return value
        }
    }

    private func redact(_ text: String, counts: inout [Int]) -> String {
        var current = text
        var digitCount: Int?
        for (index, rule) in rules.enumerated() {
            if let byte = rule.requiredByte, !current.utf8.contains(byte) { continue }
            if rule.requiresDigits > 0 {
                let digits = digitCount ?? current.utf8.reduce(0) { $0 + ($1 >= 0x30 && $1 <= 0x39 ? 1 : 0) }
                digitCount = digits
                if digits < rule.requiresDigits { continue }
            }
            let range = NSRange(current.startIndex..., in: current)
            let matches = rule.expression.numberOfMatches(in: current, range: range)
            guard matches > 0 else { continue }
            counts[index] += matches
            current = rule.expression.stringByReplacingMatches(in: current, range: range, withTemplate: rule.replacement)
            digitCount = nil
        }
        return current
    }
}
