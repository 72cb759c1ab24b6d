import PeriscopeQueryAPI

/// When each SLO alert started and stopped firing, kept by the store (not partitioned: the
/// history outlives data retention), and who evaluates SLOs when several collectors share
/// one store.
protocol AlertLog: Sendable {
    /// Whether this collector should evaluate `objectives` now. Collectors sharing a store take
    /// turns, at most one evaluation of one set of objectives per `minimumGap` (collectors with
    /// different SLO files each evaluate theirs); one whose collector died is taken over at the
    /// next turn. A store of its own always answers yes.
    func claimEvaluation(of objectives: [ServiceLevelObjective], minimumGap: Duration) throws -> Bool

    /// Gives a claimed turn back (its evaluation failed), so that another collector takes the next one.
    func releaseEvaluation(of objectives: [ServiceLevelObjective]) throws

    /// Records a change for every (SLO, severity) whose firing state differs from the last one
    /// recorded (none recorded counts as quiet). Changes are ordered as recorded, not by their
    /// time: the collectors' clocks need not agree.
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
    }

    /// A stable number for a set of objectives (FNV-1a over their sorted definitions), the key
    /// under which collectors sharing a store take turns evaluating it. Routing labels are left
    /// out: collectors whose files differ only in them still take turns.
    static func key(of objectives: [ServiceLevelObjective]) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let definitions = objectives.map { objective in
            var definition = objective
            definition.labels = []
            return String(describing: definition)
        }
        for text in definitions.sorted() {
            for byte in text.utf8 + [0] {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
        }
        return Int64(bitPattern: hash)
    }

    static func changes(
        _ statuses: [QueryAPI.SLOStatus], last: [Key: Recorded], atUnixNano: UInt64
    ) -> [QueryAPI.AlertEvent] {
        var changes = [QueryAPI.AlertEvent]()
        for status in statuses {
            for severity in severities {
                let firing = status.alerts.contains { $0.severity == severity && $0.firing }
                let previous = last[Key(slo: status.name, severity: severity)]
                if previous?.firing ?? false == firing { continue }
                changes.append(QueryAPI.AlertEvent(timeUnixNano: atUnixNano, slo: status.name, severity: severity, firing: firing))
            }
        }
        return changes
    }
}
