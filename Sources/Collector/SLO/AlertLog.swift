import Foundation
import PeriscopeQueryAPI

/// When each SLO alert started and stopped firing, in `alerts.db` beside the partitions
/// (not partitioned: the history outlives data retention).
final class AlertLog: Sendable {
    private let database: ConnectionLock

    init(directory: String) throws {
        let database = try SQLiteDatabase(path: (directory as NSString).appendingPathComponent("alerts.db"))
        try database.execute("""
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS alert_events (
                id INTEGER PRIMARY KEY, slo TEXT NOT NULL, severity TEXT NOT NULL, firing INTEGER NOT NULL, at_ns INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS alert_events_by_slo ON alert_events (slo, at_ns);
            """)
        self.database = ConnectionLock(database)
    }

    /// Records a change for every (SLO, severity) whose firing state differs from the last one recorded.
    func record(_ statuses: [QueryAPI.SLOStatus], atUnixNano: UInt64) throws {
        try database.withLock { database in
            try database.transaction {
                for status in statuses {
                    for severity in ["page", "ticket"] {
                        let firing = status.alerts.contains { $0.severity == severity && $0.firing }
                        let last = try database.statement("SELECT firing FROM alert_events WHERE slo = ? AND severity = ? ORDER BY at_ns DESC, id DESC LIMIT 1")
                            .bind(1, status.name).bind(2, severity)
                        let previous: Bool? = try last.step() ? last.int(0) != 0 : nil
                        last.reset()
                        if previous == firing || (previous == nil && !firing) { continue }
                        try database.statement("INSERT INTO alert_events (slo, severity, firing, at_ns) VALUES (?, ?, ?, ?)")
                            .bind(1, status.name).bind(2, severity).bind(3, firing ? 1 : 0).bind(4, atUnixNano).run()
                    }
                }
            }
        }
    }

    func events(slo: String? = nil) throws -> [QueryAPI.AlertEvent] {
        try database.withLock { database in
            let statement = try database.statement("SELECT at_ns, slo, severity, firing FROM alert_events WHERE (? IS NULL OR slo = ?) ORDER BY at_ns, id")
            if let slo { statement.bind(1, slo).bind(2, slo) } else { statement.bindNull(1).bindNull(2) }
            var events = [QueryAPI.AlertEvent]()
            while try statement.step() {
                events.append(QueryAPI.AlertEvent(timeUnixNano: statement.uint64(0), slo: statement.string(1), severity: statement.string(2), firing: statement.int(3) != 0))
            }
            return events
        }
    }
}
