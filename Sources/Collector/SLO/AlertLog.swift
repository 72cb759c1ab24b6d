import PeriscopeQueryAPI

/// When each SLO alert started and stopped firing, kept by the store (not partitioned: the
/// history outlives data retention), and who evaluates SLOs when several collectors share
/// one store.
protocol AlertLog: Sendable {
    /// Whether this collector should evaluate SLOs now. Collectors sharing a store take turns,
    /// at most one evaluation per `minimumGap`; one whose collector died is taken over at the
    /// next turn. A store of its own always answers yes.
    func claimEvaluation(minimumGap: Duration) throws -> Bool

    /// Records a change for every (SLO, severity) whose firing state differs from the last one
    /// recorded (none recorded counts as quiet). A state older than the last recorded one is ignored.
    func record(_ statuses: [QueryAPI.SLOStatus], atUnixNano: UInt64) throws

    /// The most recent `limit` changes (of one SLO, or all), oldest first.
    func events(slo: String?, limit: Int) throws -> [QueryAPI.AlertEvent]
}

extension AlertLog {
    /// Changes answered at most, so a flapping alert's history stays a bounded answer.
    static var defaultEventLimit: Int { 1_000 }

    func events(slo: String? = nil) throws -> [QueryAPI.AlertEvent] {
        try events(slo: slo, limit: Self.defaultEventLimit)
    }
}

/// The alert-state changes `statuses` make, given the last recorded state of each (SLO, severity).
struct AlertTransitions {
    static let severities = ["page", "ticket"]

    struct Key: Hashable {
        var slo: String
        var severity: String
    }

    struct Recorded {
        var firing: Bool
        var atUnixNano: UInt64
    }

    static func changes(
        _ statuses: [QueryAPI.SLOStatus], last: [Key: Recorded], atUnixNano: UInt64
    ) -> [QueryAPI.AlertEvent] {
        var changes = [QueryAPI.AlertEvent]()
        for status in statuses {
            for severity in severities {
                let firing = status.alerts.contains { $0.severity == severity && $0.firing }
                let previous = last[Key(slo: status.name, severity: severity)]
                if let previous, previous.atUnixNano > atUnixNano || previous.firing == firing { continue }
                if previous == nil && !firing { continue }
                changes.append(QueryAPI.AlertEvent(timeUnixNano: atUnixNano, slo: status.name, severity: severity, firing: firing))
            }
        }
        return changes
    }
}
