import Foundation
import PeriscopeQueryAPI

/// The SQLite store's alert log: `alerts.db` beside the partitions.
final class SQLiteAlertLog: AlertLog {
    private let database: ConnectionLock

    init(directory: String) throws {
        let path = (directory as NSString).appendingPathComponent("alerts.db")
        do {
            self.database = ConnectionLock(try Self.open(path))
        } catch {
            throw AlertLogOpenFailure(path: path, reason: "\(error)")
        }
    }

    private static func open(_ path: String) throws -> SQLiteDatabase {
        let database = try SQLiteDatabase(path: path)
        try database.execute("""
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS alert_events (
                id INTEGER PRIMARY KEY, slo TEXT NOT NULL, severity TEXT NOT NULL, firing INTEGER NOT NULL, at_ns INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS alert_events_by_slo ON alert_events (slo, at_ns);
            CREATE INDEX IF NOT EXISTS alert_events_by_slo_severity ON alert_events (slo, severity, id);
            """)
        return database
    }

    /// One collector owns this store: it always evaluates.
    func claimEvaluation(of objectives: [ServiceLevelObjective], minimumGap: Duration) throws -> Bool { true }

    func releaseEvaluation(of objectives: [ServiceLevelObjective]) throws {}

    func record(_ statuses: [QueryAPI.SLOStatus], atUnixNano: UInt64) throws {
        try database.withLock { database in
            try database.transaction {
                var last = [AlertTransitions.Key: AlertTransitions.Recorded]()
                for status in statuses {
                    for severity in AlertTransitions.severities {
                        let statement = try database.statement(
                            "SELECT firing FROM alert_events WHERE slo = ? AND severity = ? ORDER BY id DESC LIMIT 1")
                            .bind(1, status.name).bind(2, severity)
                        if try statement.step() {
                            last[.init(slo: status.name, severity: severity)] = .init(firing: statement.int(0) != 0)
                        }
                        statement.reset()
                    }
                }
                for change in AlertTransitions.changes(statuses, last: last, atUnixNano: atUnixNano) {
                    try database.statement("INSERT INTO alert_events (slo, severity, firing, at_ns) VALUES (?, ?, ?, ?)")
                        .bind(1, change.slo).bind(2, change.severity).bind(3, change.firing ? 1 : 0).bind(4, change.timeUnixNano).run()
                }
            }
        }
    }

    func events(slo: String?, limit: Int) throws -> [QueryAPI.AlertEvent] {
        try database.withLock { database in
            let statement = try database.statement(
                "SELECT at_ns, slo, severity, firing FROM alert_events WHERE (? IS NULL OR slo = ?) ORDER BY id DESC LIMIT ?")
            if let slo { statement.bind(1, slo).bind(2, slo) } else { statement.bindNull(1).bindNull(2) }
            statement.bind(3, Int64(max(0, limit)))
            var events = [QueryAPI.AlertEvent]()
            while try statement.step() {
                events.append(QueryAPI.AlertEvent(timeUnixNano: statement.uint64(0), slo: statement.string(1), severity: statement.string(2), firing: statement.int(3) != 0))
            }
            return events.reversed()
        }
    }
}

/// The alert history's file that could not be opened or made, named.
struct AlertLogOpenFailure: Error, CustomStringConvertible {
    var path: String
    var reason: String

    var description: String { "cannot open the alert history \(path): \(reason)" }
}
