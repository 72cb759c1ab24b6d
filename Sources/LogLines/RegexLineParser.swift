import Foundation

/// Plain text with a regex: each named group (`(?<level>\w+)`) that matched becomes a field.
package struct RegexLineParser: @unchecked Sendable {
    // NSRegularExpression is immutable and thread-safe once built.
    package let expression: NSRegularExpression
    package let groupNames: [String]

    /// ICU group names allow only ASCII letters and digits, so `(?<request_id>…)` is compiled
    /// as `(?<g0>…)` and mapped back.
    private let internalNames: [String]

    package init?(pattern: String) {
        let names = Self.groupNames(in: pattern)
        var rewritten = pattern
        var internalNames: [String] = []
        for (index, name) in names.enumerated() {
            let internalName = "periscopeGroup\(index)"
            if let range = rewritten.range(of: "(?<\(name)>") {
                rewritten.replaceSubrange(range, with: "(?<\(internalName)>")
            }
            internalNames.append(internalName)
        }
        guard let expression = try? NSRegularExpression(pattern: rewritten) else { return nil }
        self.expression = expression
        self.groupNames = names
        self.internalNames = internalNames
    }

    /// Adds each named group that matched as a string field; false when the line does not match.
    package func parse(_ text: String, into fields: inout ParsedFields) -> Bool {
        let range = NSRange(text.startIndex..., in: text)
        guard let match = expression.firstMatch(in: text, range: range) else { return false }
        for (name, internalName) in zip(groupNames, internalNames) {
            let groupRange = match.range(withName: internalName)
            guard groupRange.location != NSNotFound, let swiftRange = Range(groupRange, in: text) else { continue }
            let key = fields.store(name)
            fields.append(key: key, .string(fields.store(String(text[swiftRange]))))
        }
        return true
    }

    /// The names of `(?<name>…)` groups (not lookbehinds `(?<=`/`(?<!`).
    package static func groupNames(in pattern: String) -> [String] {
        var names: [String] = []
        let characters = Array(pattern)
        var index = 0
        while index + 3 < characters.count {
            if characters[index] == "\\" { index += 2; continue }
            if characters[index] == "(", characters[index + 1] == "?", characters[index + 2] == "<",
               characters[index + 3] != "=", characters[index + 3] != "!" {
                var end = index + 3
                var name = ""
                while end < characters.count, characters[end] != ">" {
                    name.append(characters[end])
                    end += 1
                }
                if !name.isEmpty { names.append(name) }
                index = end
            }
            index += 1
        }
        return names
    }
}
