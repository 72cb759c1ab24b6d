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
        let prefilter: Prefilter
    }

    /// A cheap byte scan that rules out a match, so the regular expression (ICU, and a bridge to
    /// NSString) only runs on the few texts that might hold a secret.
    enum Prefilter: Sendable {
        case none
        /// The text must contain this byte.
        case byte(UInt8)
        /// The text must hold a run of this many digits, single spaces or dashes allowed between them.
        case digitRun(Int)
        /// The text must contain one of these lowercase ASCII words, in any letter case.
        case anyWord([[UInt8]])

        func mayMatch(_ text: String) -> Bool {
            switch self {
            case .none: return true
            case .byte(let byte): return text.utf8.contains(byte)
            case .digitRun(let length): return Self.longestDigitRun(text) >= length
            case .anyWord(let words): return Self.containsAnyWord(text, words)
            }
        }

        private static func longestDigitRun(_ text: String) -> Int {
            var best = 0, run = 0
            var previousWasSeparator = false
            for byte in text.utf8 {
                if byte >= 0x30 && byte <= 0x39 {
                    run += 1
                    best = max(best, run)
                    previousWasSeparator = false
                } else if (byte == 0x20 || byte == 0x2d) && run > 0 && !previousWasSeparator {
                    previousWasSeparator = true
                } else {
                    run = 0
                    previousWasSeparator = false
                }
            }
            return best
        }

        private static func containsAnyWord(_ text: String, _ words: [[UInt8]]) -> Bool {
            var text = text
            return text.withUTF8 { matches($0, words) }
        }

        private static func matches(_ bytes: UnsafeBufferPointer<UInt8>, _ words: [[UInt8]]) -> Bool {
            for word in words where word.count <= bytes.count {
                let first = word[0]
                var start = 0
                while start + word.count <= bytes.count {
                    if bytes[start] | 0x20 == first {
                        var index = 1
                        while index < word.count, bytes[start + index] | 0x20 == word[index] { index += 1 }
                        if index == word.count { return true }
                    }
                    start += 1
                }
            }
            return false
        }
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

    /// The pre-checks of the default rules, by pattern (a user rule gets none).
    private static let defaultPrefilters: [String: Prefilter] = [
        defaultRules[0].pattern: .byte(UInt8(ascii: "@")),
        defaultRules[1].pattern: .digitRun(13),
        defaultRules[2].pattern: .anyWord([Array("bearer".utf8)]),
        defaultRules[3].pattern: .anyWord(["pass", "pwd", "secret", "token", "api"].map { Array($0.utf8) }),
    ]

    init(rules: [RedactionRule], includeDefaults: Bool) {
        let all = (includeDefaults ? Self.defaultRules : []) + rules
        self.rules = all.compactMap { rule in
            guard let expression = try? NSRegularExpression(pattern: rule.pattern) else { return nil }
            return Rule(name: rule.name, expression: expression, replacement: rule.replacement,
                        prefilter: Self.defaultPrefilters[rule.pattern] ?? .none)
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

    /// Redacts the body and every string attribute (nested ones too); unchanged values are not rewritten.
    func redact(_ record: inout LogRecord) {
        guard !rules.isEmpty else { return }
        var local = [Int](repeating: 0, count: rules.count)
        if let body = redacted(record.body, counts: &local) { record.body = body }
        for index in record.attributes.indices {
            if let value = redacted(record.attributes[index].value, counts: &local) { record.attributes[index].value = value }
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

    /// The value with secrets replaced, or nil when nothing in it matched.
    private func redacted(_ value: AttributeValue, counts: inout [Int]) -> AttributeValue? {
        switch value {
        case .string(let text):
            let out = redact(text, counts: &counts)
            return out == text ? nil : .string(out)
        case .array(let values):
            var changed = false
            let out = values.map { value in
                guard let new = redacted(value, counts: &counts) else { return value }
                changed = true
                return new
            }
            return changed ? .array(out) : nil
        case .keyValueList(let pairs):
            var changed = false
            let out = pairs.map { pair in
                guard let new = redacted(pair.value, counts: &counts) else { return pair }
                changed = true
                return Attribute(pair.key, new)
            }
            return changed ? .keyValueList(out) : nil
        default:
            return nil
        }
    }

    private func redact(_ text: String, counts: inout [Int]) -> String {
        var current = text
        for (index, rule) in rules.enumerated() {
            guard rule.prefilter.mayMatch(current) else { continue }
            let range = NSRange(current.startIndex..., in: current)
            let matches = rule.expression.numberOfMatches(in: current, range: range)
            guard matches > 0 else { continue }
            counts[index] += matches
            current = rule.expression.stringByReplacingMatches(in: current, range: range, withTemplate: rule.replacement)
        }
        return current
    }
}
