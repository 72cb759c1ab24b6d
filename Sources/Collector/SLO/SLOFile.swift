import Foundation
import PeriscopeConfig
import Yams

/// Reads and validates `slo.yaml`. Every mistake is reported with its line and field, so
/// a typo in an objective is fixed in one go rather than found at 3 a.m.
///
///     slos:
///       - name: checkout-availability
///         service: checkout              # optional for ratio SLOs
///         operation: POST /checkout      # optional: one operation only
///         sli: availability              # availability | latency | ratio
///         threshold: 300ms               # latency only
///         good: payments.succeeded       # ratio only: counter of good events
///         total: payments.attempted      # ratio only: counter of all events
///         objective: 99.9                # percent, > 0 and ≤ 100
///         window: 30d                    # rolling window, default 30d
///         labels: {team: payments}       # optional: on its Prometheus series and Alertmanager alerts
enum SLOFile {
    struct Invalid: Error, CustomStringConvertible, Equatable {
        var line: Int?
        var field: String
        var message: String

        var description: String {
            let place = line.map { "line \($0)" } ?? "slo file"
            return "\(place), \(field): \(message)"
        }
    }

    static func load(path: String) throws -> [ServiceLevelObjective] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Invalid(line: nil, field: "file", message: "cannot read '\(path)': \(error.localizedDescription)")
        }
        return try parse(text)
    }

    static func parse(_ text: String) throws(Invalid) -> [ServiceLevelObjective] {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Invalid(line: line(of: error), field: "yaml", message: "\(error)".split(separator: "\n").first.map(String.init) ?? "invalid YAML")
        } catch {
            throw Invalid(line: nil, field: "yaml", message: "\(error)")
        }
        guard let root, let mapping = root.mapping else {
            throw Invalid(line: root?.mark?.line, field: "slos", message: "the file must be a mapping with a 'slos' list")
        }
        guard let list = mapping["slos"] else { throw Invalid(line: root.mark?.line, field: "slos", message: "missing the 'slos' list") }
        guard let entries = list.sequence else { throw Invalid(line: list.mark?.line, field: "slos", message: "must be a list") }
        var objectives = [ServiceLevelObjective]()
        var names = Set<String>()
        for entry in entries {
            let objective = try parseEntry(entry)
            guard names.insert(objective.name).inserted else {
                throw Invalid(line: entry.mark?.line, field: "name", message: "'\(objective.name)' is defined twice")
            }
            objectives.append(objective)
        }
        return objectives
    }

    private static let knownKeys: Set<String> = ["name", "service", "operation", "sli", "threshold", "good", "total", "objective", "window", "description", "labels"]

    /// Label names Periscope sets itself on SLO series and alerts (and `job`/`instance`, which
    /// Prometheus sets when it scrapes): a user label of that name would hide or replace one.
    static let reservedLabels: Set<String> = ["alertname", "slo", "service", "operation", "severity", "window", "kind", "job", "instance"]

    private static func parseEntry(_ entry: Node) throws(Invalid) -> ServiceLevelObjective {
        guard let mapping = entry.mapping else {
            throw Invalid(line: entry.mark?.line, field: "slos", message: "each SLO must be a mapping")
        }
        for key in mapping.keys {
            guard let name = key.string, knownKeys.contains(name) else {
                throw Invalid(line: key.mark?.line, field: key.string ?? "?", message: "unknown key; expected one of \(knownKeys.sorted().joined(separator: ", "))")
            }
        }
        func string(_ key: String, required: Bool) throws(Invalid) -> String? {
            guard let node = mapping[key] else {
                if required { throw Invalid(line: entry.mark?.line, field: key, message: "is required") }
                return nil
            }
            guard let value = node.string, !value.isEmpty else { throw Invalid(line: node.mark?.line, field: key, message: "must be a non-empty string") }
            return value
        }
        let name = try string("name", required: true)!
        let sli = try string("sli", required: true)!
        let indicator: ServiceLevelObjective.Indicator
        switch sli {
        case "availability":
            indicator = .availability
        case "latency":
            let text = try string("threshold", required: true)!
            guard let nanos = DurationText.nanos(text), nanos > 0 else {
                throw Invalid(line: mapping["threshold"]?.mark?.line, field: "threshold", message: "must be a duration such as 300ms or 1.5s, got '\(text)'")
            }
            indicator = .latency(thresholdNanos: nanos)
        case "ratio":
            indicator = .ratio(goodMetric: try string("good", required: true)!, totalMetric: try string("total", required: true)!)
        default:
            throw Invalid(line: mapping["sli"]?.mark?.line, field: "sli", message: "must be availability, latency or ratio, got '\(sli)'")
        }
        let service = try string("service", required: sli != "ratio")
        guard let objectiveNode = mapping["objective"] else { throw Invalid(line: entry.mark?.line, field: "objective", message: "is required") }
        guard let objective = objectiveNode.float, objective > 0, objective <= 100 else {
            throw Invalid(line: objectiveNode.mark?.line, field: "objective", message: "must be a percentage above 0 and at most 100, like 99.9")
        }
        var slo = ServiceLevelObjective(
            name: name, service: service, operation: try string("operation", required: false), indicator: indicator, objective: objective)
        if let window = try string("window", required: false) {
            guard let nanos = DurationText.nanos(window), nanos >= 3_600_000_000_000 else {
                throw Invalid(line: mapping["window"]?.mark?.line, field: "window", message: "must be a duration of at least 1h, like 30d or 7d, got '\(window)'")
            }
            slo.windowNanos = nanos
        }
        if let node = mapping["labels"] { slo.labels = try labels(node) }
        return slo
    }

    /// `labels:` — a mapping of Prometheus label names to non-empty strings.
    private static func labels(_ node: Node) throws(Invalid) -> [ServiceLevelObjective.Label] {
        guard let mapping = node.mapping else {
            throw Invalid(line: node.mark?.line, field: "labels", message: "must be a mapping of label names to values, like {team: payments, env: prod}")
        }
        var labels = [ServiceLevelObjective.Label]()
        for (key, value) in mapping {
            guard let name = key.string, isLabelName(name) else {
                throw Invalid(
                    line: key.mark?.line, field: "labels",
                    message: "'\(key.string ?? "?")' is not a label name: use letters, digits and '_', not starting with a digit or '__'")
            }
            guard !reservedLabels.contains(name) else {
                throw Invalid(line: key.mark?.line, field: "labels", message: "'\(name)' is set by Periscope or Prometheus; choose another name (reserved: \(reservedLabels.sorted().joined(separator: ", ")))")
            }
            guard value.mapping == nil, value.sequence == nil, let text = value.string, !text.isEmpty else {
                throw Invalid(line: value.mark?.line, field: "labels", message: "the value of '\(name)' must be a non-empty string")
            }
            guard !labels.contains(where: { $0.name == name }) else {
                throw Invalid(line: key.mark?.line, field: "labels", message: "'\(name)' is given twice")
            }
            labels.append(.init(name: name, value: text))
        }
        return labels.sorted { $0.name < $1.name }
    }

    /// Prometheus's label name syntax, `[a-zA-Z_][a-zA-Z0-9_]*`, without the reserved `__` prefix.
    static func isLabelName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, !name.hasPrefix("__") else { return false }
        func isLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F }
        return isLetter(first) && bytes.dropFirst().allSatisfy { isLetter($0) || (0x30...0x39).contains($0) }
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _): return mark.line
        default: return nil
        }
    }
}
