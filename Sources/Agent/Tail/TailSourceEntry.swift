import Foundation
import PeriscopeConfig
import PeriscopeLogLines

/// A `tail:` item of `agent.yaml`: either a bare glob (the old form: a JSON source starting at
/// the end) or an object with `include`, `exclude`, `service`, `start_at`, `format`, `pattern`,
/// `multiline: {start_pattern, timeout}` and `max_line_bytes`.
struct TailSourceEntry: Decodable, Equatable {
    var include: [String]
    var exclude: [String]?
    var service: String?
    var startAt: String?
    var format: String?
    var pattern: String?
    var multiline: Multiline?
    var maxLineBytes: String?

    struct Multiline: Decodable, Equatable {
        var startPattern: String
        var timeout: String?

        enum CodingKeys: String, CodingKey {
            case timeout
            case startPattern = "start_pattern"
        }
    }

    enum CodingKeys: String, CodingKey {
        case include, exclude, service, format, pattern, multiline
        case startAt = "start_at"
        case maxLineBytes = "max_line_bytes"
    }

    init(glob: String) { include = [glob] }

    init(from decoder: any Decoder) throws {
        if let glob = try? decoder.singleValueContainer().decode(String.self) {
            include = [glob]
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let one = try? container.decode(String.self, forKey: .include) {
            include = [one]
        } else {
            include = try container.decode([String].self, forKey: .include)
        }
        if let one = try? container.decode(String.self, forKey: .exclude) {
            exclude = [one]
        } else {
            exclude = try container.decodeIfPresent([String].self, forKey: .exclude)
        }
        service = try container.decodeIfPresent(String.self, forKey: .service)
        startAt = try container.decodeIfPresent(String.self, forKey: .startAt)
        format = try container.decodeIfPresent(String.self, forKey: .format)
        pattern = try container.decodeIfPresent(String.self, forKey: .pattern)
        multiline = try container.decodeIfPresent(Multiline.self, forKey: .multiline)
        if let number = try? container.decode(Int.self, forKey: .maxLineBytes) {
            maxLineBytes = String(number)
        } else {
            maxLineBytes = try container.decodeIfPresent(String.self, forKey: .maxLineBytes)
        }
    }

    /// Checks every value and builds the source.
    func resolve() throws -> TailSource {
        guard !include.isEmpty, include.allSatisfy({ !$0.isEmpty }) else { throw ConfigurationError("tail: include needs at least one glob") }
        var source = TailSource(include: include, exclude: exclude ?? [], service: service)
        if let startAt {
            guard let value = TailSource.StartAt(rawValue: startAt) else { throw ConfigurationError("tail start_at must be beginning or end; got '\(startAt)'") }
            source.startAt = value
        }
        if let format {
            guard let value = TailSource.Format(rawValue: format) else { throw ConfigurationError("tail format must be json, logfmt or plain; got '\(format)'") }
            source.format = value
        }
        if let pattern {
            guard (try? NSRegularExpression(pattern: pattern)) != nil else { throw ConfigurationError("tail pattern is not a valid regex: '\(pattern)'") }
            source.pattern = pattern
        }
        if let multiline {
            guard (try? NSRegularExpression(pattern: multiline.startPattern)) != nil else {
                throw ConfigurationError("tail multiline start_pattern is not a valid regex: '\(multiline.startPattern)'")
            }
            var rule = TailSource.Multiline(startPattern: multiline.startPattern)
            if let text = multiline.timeout {
                guard let timeout = DurationText.parse(text), timeout > .zero else { throw ConfigurationError("tail multiline timeout must be a duration like 1s; got '\(text)'") }
                rule.timeout = timeout
            }
            source.multiline = rule
        }
        if let maxLineBytes {
            // A line (kept whole when it does not parse) is one OTLP value, which receivers take up to 1 MiB.
            guard let size = ByteSizeText.parse(maxLineBytes), (16...TailBatchEncoder.limits.maxValueBytes).contains(size) else {
                throw ConfigurationError("tail max_line_bytes must be a size from 16 bytes to 1MiB, like 64KiB; got '\(maxLineBytes)'")
            }
            source.maxLineBytes = size
        }
        return source
    }
}

/// A `redact:` item of `agent.yaml`.
struct RedactionRuleEntry: Decodable, Equatable {
    var name: String
    var pattern: String
    var replacement: String?

    func resolve() throws -> RedactionRule {
        guard (try? NSRegularExpression(pattern: pattern)) != nil else { throw ConfigurationError("redact rule '\(name)': not a valid regex: '\(pattern)'") }
        return RedactionRule(name: name, pattern: pattern, replacement: replacement ?? "[REDACTED]")
    }
}
