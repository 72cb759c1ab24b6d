/// How a source's lines are split into fields.
package enum LogFormat: String, Sendable, Equatable {
    /// One JSON object per line.
    case json
    /// `key=value` pairs, values optionally quoted.
    case logfmt
    /// Free text, split by a regex's named groups when the source has one.
    case plain
}

/// One redaction rule: every match of `pattern` becomes `replacement`.
package struct RedactionRule: Sendable, Equatable {
    package var name: String
    package var pattern: String
    package var replacement: String

    package init(name: String, pattern: String, replacement: String) {
        self.name = name
        self.pattern = pattern
        self.replacement = replacement
    }
}
