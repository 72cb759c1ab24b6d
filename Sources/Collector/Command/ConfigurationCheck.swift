import PeriscopeConfig

/// What `periscope-collector --check` prints for a configuration that loaded: the settings a
/// reader would otherwise piece together from flags, file and defaults, and every SLO as the
/// collector understood it (a check for CI, as `sloth validate` is for Sloth's files).
extension CollectorConfiguration {
    var checkSummary: String {
        var lines = ["periscope-collector: the configuration is valid"]
        lines.append("  listen \(listen.host):\(listen.port), OTLP/gRPC " + (grpcListen.map { "\($0.host):\($0.port)" } ?? "off"))
        if let postgres {
            lines.append("  store: PostgreSQL \(postgres)" + (postgresReplica.map { ", replica \($0)" } ?? ""))
        } else {
            lines.append("  store: SQLite in \(dataDirectory) (sync \(durability.rawValue))")
        }
        lines.append("  retention \(DurationText.short(retentionNanos)); auth: " + (tokens.map { "\($0.count) token\($0.count == 1 ? "" : "s")" } ?? "none (--insecure-no-auth)"))
        lines.append("  indexed span attributes: \(indexedAttributes.sorted().joined(separator: ", "))")
        if postgres == nil { lines.append("  a log search reads at most \(maxLogSearchRecords) records") }
        if objectives.isEmpty {
            lines.append("  no SLOs")
        } else {
            let (seconds, attoseconds) = sloEvaluationInterval.components
            let interval = DurationText.short(UInt64(clamping: seconds) * 1_000_000_000 + UInt64(clamping: attoseconds / 1_000_000_000))
            lines.append("  \(objectives.count) SLO\(objectives.count == 1 ? "" : "s"), evaluated every \(interval):")
            for objective in objectives { lines.append("    " + objective.checkLine) }
        }
        if !alertmanagers.isEmpty { lines.append("  alerts to " + alertmanagers.joined(separator: ", ")) }
        return lines.joined(separator: "\n")
    }
}

extension ServiceLevelObjective {
    /// `name: what is counted, objective over window {labels}`.
    var checkLine: String {
        let scope = [service, operation].compactMap { $0 }.joined(separator: " ")
        let what: String = switch indicator {
        case .availability: "availability of \(scope)"
        case .latency(let threshold): "latency ≤ \(DurationText.short(threshold)) of \(scope)"
        case .ratio(let good, let total): "ratio \(good) / \(total)" + (scope.isEmpty ? "" : " of \(scope)")
        }
        let objectiveText = objective.rounded() == objective ? String(Int(objective)) : String(objective)
        let labelText = labels.isEmpty ? "" : " {" + labels.map { "\($0.name)=\($0.value)" }.joined(separator: ", ") + "}"
        return "\(name): \(what), \(objectiveText) % over \(DurationText.short(windowNanos))\(labelText)"
    }
}
