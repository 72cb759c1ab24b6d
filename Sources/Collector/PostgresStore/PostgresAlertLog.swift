import PeriscopeQueryAPI
import PostgresNIO

/// The PostgreSQL store's alert log, shared by every collector on the database. Collectors
/// take turns evaluating each set of SLOs (`claimEvaluation`, a compare-and-set on one row per
/// set by the server's clock, so their clocks need not agree), and recording is serialized by
/// an advisory lock and compared with the last change recorded (in the order recorded), so
/// each change is recorded once however many collectors evaluate.
final class PostgresAlertLog: AlertLog {
    let sessions: PostgresSessions

    init(sessions: PostgresSessions) {
        self.sessions = sessions
    }

    func claimEvaluation(of objectives: [ServiceLevelObjective], minimumGap: Duration) throws -> Bool {
        let gapMicroseconds = Int64(clamping: minimumGap.components.seconds) &* 1_000_000
            &+ Int64(minimumGap.components.attoseconds / 1_000_000_000_000)
        let key = AlertTransitions.key(of: objectives)
        return try sessions.withSession { session in
            try session.query("""
                INSERT INTO periscope.slo_evaluations (objectives, evaluated_at) VALUES (\(key), clock_timestamp())
                ON CONFLICT (objectives) DO UPDATE SET evaluated_at = EXCLUDED.evaluated_at
                WHERE periscope.slo_evaluations.evaluated_at <= clock_timestamp() - make_interval(secs => \(Double(gapMicroseconds) / 1e6))
                    OR periscope.slo_evaluations.evaluated_at > clock_timestamp() + interval '1 hour'
                """, "claiming the SLO evaluation").metadata.rows == 1
        }
    }

    func releaseEvaluation(of objectives: [ServiceLevelObjective]) throws {
        _ = try sessions.withSession { session in
            try session.query("""
                UPDATE periscope.slo_evaluations SET evaluated_at = '-infinity' WHERE objectives = \(AlertTransitions.key(of: objectives))
                """, "giving the SLO evaluation back")
        }
    }

    func record(_ statuses: [QueryAPI.SLOStatus], atUnixNano: UInt64) throws {
        guard !statuses.isEmpty else { return }
        let names = statuses.map { PostgresText.key($0.name) }
        let cleaned = statuses.map { status in
            var status = status
            status.name = PostgresText.key(status.name)
            return status
        }
        try sessions.withSession { session in
            try session.transaction {
                try session.query(
                    "SELECT pg_advisory_xact_lock(\(PostgresSchema.Lock.namespace), \(PostgresSchema.Lock.sloEvaluation.rawValue))",
                    "taking the SLO evaluation lock")
                var last = [AlertTransitions.Key: AlertTransitions.Recorded]()
                // The last change of each (SLO, severity): one backward index probe each, however long the history.
                let keys = names.flatMap { name in AlertTransitions.severities.map { (name, $0) } }
                for row in try session.query("""
                    SELECT k.slo, k.severity, e.firing FROM unnest(\(keys.map(\.0)), \(keys.map(\.1))) AS k(slo, severity)
                    CROSS JOIN LATERAL (
                        SELECT firing FROM periscope.alert_events AS a WHERE a.slo = k.slo AND a.severity = k.severity
                        ORDER BY a.id DESC LIMIT 1) AS e
                    """, "reading the last alert states") {
                    let (slo, severity, firing) = try row.decode((String, String, Bool).self)
                    last[.init(slo: slo, severity: severity)] = .init(firing: firing)
                }
                let changes = AlertTransitions.changes(cleaned, last: last, atUnixNano: atUnixNano)
                guard !changes.isEmpty else { return }
                try session.query("""
                    INSERT INTO periscope.alert_events (slo, severity, firing, at_ns)
                    SELECT s, v, f, \(Int64(clamping: atUnixNano)) FROM unnest(\(changes.map(\.slo)), \(changes.map(\.severity)), \(changes.map(\.firing))) AS u(s, v, f)
                    """, "recording alert changes")
            }
        }
    }

    func events(slo: String?, limit: Int) throws -> [QueryAPI.AlertEvent] {
        let name = slo.map(PostgresText.key)
        return try sessions.withSession { session in
            try session.query("""
                SELECT at_ns, slo, severity, firing FROM periscope.alert_events
                WHERE \(name)::text IS NULL OR slo = \(name) ORDER BY id DESC LIMIT \(Int64(max(0, limit)))
                """, "reading the alert history").map { row in
                let (at, slo, severity, firing) = try row.decode((Int64, String, String, Bool).self)
                return QueryAPI.AlertEvent(timeUnixNano: UInt64(clamping: at), slo: slo, severity: severity, firing: firing)
            }.reversed()
        }
    }
}
