import Foundation
import PeriscopeModel
import Synchronization

/// Replaces secrets in bodies and string attributes before anything leaves the host, and
/// counts what each rule replaced. The defaults cover e-mail addresses, card numbers (13–19
/// digits, spaces or dashes allowed), `Bearer <token>` and passwords/secrets/tokens in
/// `key=value` or `key: value` form.
package final class Redactor: Sendable {
    package struct Rule: @unchecked Sendable {
        // NSRegularExpression is immutable and thread-safe once built.
        package let name: String
        package let expression: NSRegularExpression
        package let replacement: String
        package let prefilter: Prefilter
        /// `prefilter`, ready to run.
        package let scan: Scan
        /// A check a match must also pass to be replaced (the card number rule's Luhn checksum).
        package let validate: (@Sendable (Substring) -> Bool)?
    }

    package static let defaultRules: [RedactionRule] = [
        // A match starts only where a run of local-part characters starts (or right after the last
        // match, `\G`), and that run is taken whole (possessive): a match from inside a run exists
        // only if one from its start does, so these are the plain expression's matches, in linear
        // time. Without them, each position of a long run (digits, a word after an `@`) scanned
        // to the run's end: 120 KB took 2 minutes.
        RedactionRule(
            name: "email", pattern: #"(?:(?<![A-Za-z0-9._%+-])|\G)[A-Za-z0-9._%+-]++@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"#,
            replacement: "[REDACTED_EMAIL]"),
        RedactionRule(name: "card_number", pattern: #"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])"#, replacement: "[REDACTED_CARD]"),
        RedactionRule(name: "bearer_token", pattern: #"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"#, replacement: "Bearer [REDACTED]"),
        RedactionRule(
            name: "password",
            pattern: #"(?i)\b(password|passwd|pwd|secret|token|api_key|apikey)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"']+)"#,
            replacement: "$1$2[REDACTED]"),
    ]

    package let rules: [Rule]
    private let counts: Mutex<[Int]>
    private let scan: Scan

    /// The pre-checks of the default rules, by pattern (a user rule gets none).
    private static let defaultPrefilters: [String: Prefilter] = [
        defaultRules[0].pattern: .byte(UInt8(ascii: "@")),
        defaultRules[1].pattern: .digitRun(13),
        defaultRules[2].pattern: .anyWord([Array("bearer".utf8)]),
        defaultRules[3].pattern: .anyWord(["pass", "pwd", "secret", "token", "api"].map { Array($0.utf8) }),
    ]

    package init(rules: [RedactionRule], includeDefaults: Bool) {
        let all = (includeDefaults ? Self.defaultRules : []) + rules
        self.rules = all.compactMap { rule in
            guard let expression = try? NSRegularExpression(pattern: rule.pattern) else { return nil }
            let prefilter = Self.defaultPrefilters[rule.pattern] ?? .none
            let validate: (@Sendable (Substring) -> Bool)? = rule.pattern == Self.defaultRules[1].pattern ? Self.passesLuhn : nil
            return Rule(
                name: rule.name, expression: expression, replacement: rule.replacement, prefilter: prefilter, scan: Scan(of: [prefilter]),
                validate: validate)
        }
        counts = Mutex([Int](repeating: 0, count: self.rules.count))
        scan = Scan(of: self.rules.map(\.prefilter))
    }

    package var isEmpty: Bool { rules.isEmpty }

    /// Redactions so far, by rule name.
    package var redactionsByRule: [String: Int] {
        let snapshot = counts.withLock { $0 }
        var out: [String: Int] = [:]
        for (rule, count) in zip(rules, snapshot) { out[rule.name, default: 0] += count }
        return out
    }

    package var totalRedactions: Int { counts.withLock { $0.reduce(0, +) } }

    /// Whether some rule's pre-check passes on `utf8`: false means no rule can match in it.
    package func mayMatch(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        !rules.isEmpty && scan.mayMatch(utf8)
    }

    /// Whether some rule's pre-check passes on a string in `value` (in arrays and key-value lists
    /// too): false means `redacted(value, counts:)` would change nothing.
    package func mayMatch(_ value: AttributeValue) -> Bool {
        switch value {
        case .string(let text):
            var text = text
            return text.withUTF8 { mayMatch($0) }
        case .array(let values):
            return values.contains { mayMatch($0) }
        case .keyValueList(let pairs):
            return pairs.contains { mayMatch($0.value) }
        default:
            return false
        }
    }

    /// Redacts one string; for tests and callers outside the tailer.
    package func redact(_ text: String) -> String {
        var local = [Int](repeating: 0, count: rules.count)
        let out = redact(text, counts: &local)
        add(local)
        return out
    }

    /// `utf8` with secrets replaced, or nil when nothing in it matched. Matches are added to
    /// `counts` (one slot per rule, handed to `add` later), so a batch takes the lock once.
    package func redacted(_ utf8: UnsafeBufferPointer<UInt8>, counts: inout [Int]) -> String? {
        guard mayMatch(utf8) else { return nil }
        let text = String(decoding: utf8, as: UTF8.self)
        let out = redact(text, counts: &counts)
        return out == text ? nil : out
    }

    /// Adds redactions counted by `redacted` to the totals.
    package func add(_ local: [Int]) {
        guard local.contains(where: { $0 > 0 }) else { return }
        counts.withLock { total in for index in local.indices { total[index] += local[index] } }
    }

    /// The value with secrets replaced (strings inside arrays and key-value lists too), or nil
    /// when nothing in it matched.
    package func redacted(_ value: AttributeValue, counts: inout [Int]) -> AttributeValue? {
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
        // One pass of every rule's pre-check first: most strings pass none, and then no rule's
        // own check (nor a copy of the rule) is needed.
        guard current.withUTF8({ mayMatch($0) }) else { return text }
        for (index, rule) in rules.enumerated() {
            guard current.withUTF8({ rule.scan.mayMatch($0) }) else { continue }
            let range = NSRange(current.startIndex..., in: current)
            if let validate = rule.validate {
                current = replaceValidated(current, rule: rule, validate: validate, count: &counts[index])
                continue
            }
            let matches = rule.expression.numberOfMatches(in: current, range: range)
            guard matches > 0 else { continue }
            counts[index] += matches
            current = rule.expression.stringByReplacingMatches(in: current, range: range, withTemplate: rule.replacement)
        }
        return current
    }

    /// `text` with the matches of `rule` that pass `validate` replaced, counting them.
    private func replaceValidated(_ text: String, rule: Rule, validate: (Substring) -> Bool, count: inout Int) -> String {
        let matches = rule.expression.matches(in: text, range: NSRange(text.startIndex..., in: text))
        var output = ""
        var last = text.startIndex
        for match in matches {
            guard let range = Range(match.range, in: text), validate(text[range]) else { continue }
            output += text[last..<range.lowerBound]
            output += rule.expression.replacementString(for: match, in: text, offset: 0, template: rule.replacement)
            last = range.upperBound
            count += 1
        }
        guard last != text.startIndex else { return text }
        output += text[last...]
        return output
    }

    /// Whether the digits of `text` (spaces and dashes between them ignored) pass the Luhn
    /// checksum every payment card number carries: most other long digit runs — timestamps,
    /// numeric IDs — do not, so they are left alone.
    @Sendable static func passesLuhn(_ text: Substring) -> Bool {
        var sum = 0
        var double = false
        for byte in text.utf8.reversed() where byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
            var digit = Int(byte - UInt8(ascii: "0"))
            if double {
                digit *= 2
                if digit > 9 { digit -= 9 }
            }
            sum += digit
            double.toggle()
        }
        return sum % 10 == 0
    }
}
