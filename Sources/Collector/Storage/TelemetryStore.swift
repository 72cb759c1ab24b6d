import Foundation
import PeriscopeTelemetry
import Synchronization

/// What happened to an ingested batch.
enum IngestOutcome: Equatable, Sendable {
    case stored(items: Int)
    /// The batch ID was stored before: nothing was written again.
    case duplicate
}

/// The collector's embedded SQLite store: one writer connection for ingest, one reader
/// connection for queries (WAL lets them run side by side). Every batch is one transaction,
/// so a crash leaves either all of a batch or none of it.
final class TelemetryStore: Sendable {
    private let writer: Mutex<SQLiteDatabase>
    private let reader: Mutex<SQLiteDatabase>
    let path: String

    /// Opens (creating if needed) `periscope.db` under `directory`.
    init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = (directory as NSString).appendingPathComponent("periscope.db")
        let writer = try SQLiteDatabase(path: path)
        try writer.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;")
        try writer.execute(Schema.statements)
        let reader = try SQLiteDatabase(path: path)
        try reader.execute("PRAGMA query_only=ON;")
        self.path = path
        self.writer = Mutex(writer)
        self.reader = Mutex(reader)
    }

    // MARK: - Ingest

    /// Stores a batch in one transaction. With a `batchID` seen before, stores nothing.
    func ingest(_ batch: TelemetryBatch, batchID: String?, nowUnixNano: UInt64 = WallClock.nowUnixNano()) throws -> IngestOutcome {
        try writer.withLock { database in
            try database.transaction {
                if let batchID {
                    try database.statement("INSERT OR IGNORE INTO ingested_batches (batch_id, received_ns) VALUES (?, ?)")
                        .bind(1, batchID).bind(2, nowUnixNano).run()
                    if database.changes == 0 { return .duplicate }
                }
                switch batch {
                case .traces(let groups): try insert(groups, into: database)
                case .logs(let groups): try insert(groups, into: database)
                case .metrics(let groups): try insert(groups, into: database)
                }
                return .stored(items: batch.itemCount)
            }
        }
    }

    private func resourceID(_ resource: Resource, in database: SQLiteDatabase) throws -> Int64 {
        let encoded = CompactEncoding.encode(attributes: resource.attributes)
        try database.statement("INSERT OR IGNORE INTO resources (attributes) VALUES (?)").bind(1, blob: encoded).run()
        let select = try database.statement("SELECT id FROM resources WHERE attributes = ?").bind(1, blob: encoded)
        guard try select.step() else { throw SQLiteError(code: 0, message: "resource row vanished") }
        let id = select.int64(0)
        _ = try select.step()
        return id
    }

    private func insert(_ groups: [ResourceSpans], into database: SQLiteDatabase) throws {
        let sql = """
            INSERT OR IGNORE INTO spans (trace_id, span_id, parent_span_id, service, name, kind, start_ns, end_ns,
                status_code, resource_id, attributes, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        for group in groups {
            let resource = try resourceID(group.resource, in: database)
            let service = group.resource.serviceName
            for scope in group.scopes {
                for span in scope.spans {
                    let statement = try database.statement(sql)
                    statement.bind(1, blob: span.traceID.bytes).bind(2, span.spanID.value)
                    if let parent = span.parentSpanID { statement.bind(3, parent.value) } else { statement.bindNull(3) }
                    statement.bind(4, service).bind(5, span.name).bind(6, span.kind.rawValue)
                        .bind(7, span.startTimeUnixNano).bind(8, span.endTimeUnixNano)
                        .bind(9, span.status.code.rawValue).bind(10, resource)
                        .bind(11, blob: CompactEncoding.encode(attributes: span.attributes))
                        .bind(12, blob: CompactEncoding.encodeDetails(of: span))
                    try statement.run()
                }
            }
        }
    }

    private func insert(_ groups: [ResourceLogs], into database: SQLiteDatabase) throws {
        let sql = """
            INSERT INTO logs (time_ns, observed_ns, service, severity_number, severity_text, body, attributes,
                trace_id, span_id, resource_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        for group in groups {
            let resource = try resourceID(group.resource, in: database)
            let service = group.resource.serviceName
            for scope in group.scopes {
                for record in scope.records {
                    let statement = try database.statement(sql)
                    statement.bind(1, record.effectiveTimeUnixNano).bind(2, record.observedTimeUnixNano)
                        .bind(3, service).bind(4, record.severityNumber.rawValue).bind(5, record.severityText)
                        .bind(6, blob: CompactEncoding.encode(value: record.body))
                        .bind(7, blob: CompactEncoding.encode(attributes: record.attributes))
                        .bind(8, blob: record.traceID?.bytes)
                        .bind(10, resource)
                    if let spanID = record.spanID { statement.bind(9, spanID.value) } else { statement.bindNull(9) }
                    try statement.run()
                }
            }
        }
    }

    private func insert(_ groups: [ResourceMetrics], into database: SQLiteDatabase) throws {
        let sql = """
            INSERT INTO metric_points (name, service, kind, time_ns, value, attributes, histogram, resource_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """
        for group in groups {
            let resource = try resourceID(group.resource, in: database)
            let service = group.resource.serviceName
            for scope in group.scopes {
                for metric in scope.metrics {
                    switch metric.data {
                    case .gauge(let points), .sum(let points, _, _):
                        let kind = if case .gauge = metric.data { "gauge" } else { "sum" }
                        for point in points {
                            try database.statement(sql).bind(1, metric.name).bind(2, service).bind(3, kind)
                                .bind(4, point.timeUnixNano).bind(5, point.value.asDouble)
                                .bind(6, blob: CompactEncoding.encode(attributes: point.attributes))
                                .bind(7, blob: nil).bind(8, resource).run()
                        }
                    case .histogram(let points, let temporality):
                        for point in points {
                            let single = Metric(name: metric.name, data: .histogram([point], temporality: temporality))
                            let encoded = OTLPEncoder.encode(
                                .metrics([ResourceMetrics(resource: Resource(), scopes: [ScopeMetrics(metrics: [single])])]))
                            try database.statement(sql).bind(1, metric.name).bind(2, service).bind(3, "histogram")
                                .bind(4, point.timeUnixNano).bind(5, point.sum ?? 0)
                                .bind(6, blob: CompactEncoding.encode(attributes: point.attributes))
                                .bind(7, blob: encoded).bind(8, resource).run()
                        }
                    }
                }
            }
        }
    }

    // MARK: - Queries

    /// Every span of one trace, by start time; `nil` if the store has none.
    func trace(_ traceID: TraceID) throws -> QueryAPI.Trace? {
        try reader.withLock { database in
            let statement = try database.statement("""
                SELECT s.span_id, s.parent_span_id, s.service, s.name, s.kind, s.start_ns, s.end_ns, s.status_code,
                       s.attributes, s.details, r.attributes
                FROM spans s LEFT JOIN resources r ON r.id = s.resource_id
                WHERE s.trace_id = ? ORDER BY s.start_ns, s.span_id
                """).bind(1, blob: traceID.bytes)
            var spans = [QueryAPI.Span]()
            while try statement.step() {
                let details = CompactEncoding.decodeDetails(statement.blob(9))
                let code = Span.Status.Code(rawValue: statement.int(7)) ?? .unset
                spans.append(QueryAPI.Span(
                    traceID: traceID, spanID: SpanID(statement.uint64(0)),
                    parentSpanID: statement.isNull(1) ? nil : SpanID(statement.uint64(1)),
                    service: statement.string(2), name: statement.string(3),
                    kind: (Span.Kind(rawValue: statement.int(4)) ?? .unspecified).name,
                    startTimeUnixNano: statement.uint64(5), endTimeUnixNano: statement.uint64(6),
                    status: QueryAPI.Status(code: code.name, message: details.statusMessage),
                    attributes: CompactEncoding.decodeAttributes(statement.blob(8)).dictionary,
                    resource: CompactEncoding.decodeAttributes(statement.blob(10)).dictionary,
                    events: details.events.map {
                        QueryAPI.Event(timeUnixNano: $0.timeUnixNano, name: $0.name, attributes: $0.attributes.dictionary)
                    },
                    links: details.links.map {
                        QueryAPI.Link(traceID: $0.traceID, spanID: $0.spanID, attributes: $0.attributes.dictionary)
                    }))
            }
            return spans.isEmpty ? nil : QueryAPI.Trace(traceID: traceID, spans: spans)
        }
    }

    /// Log records of one trace, oldest first.
    func logs(traceID: TraceID, limit: Int) throws -> [QueryAPI.Log] {
        try reader.withLock { database in
            let statement = try database.statement("""
                SELECT time_ns, observed_ns, service, severity_number, severity_text, body, attributes, trace_id, span_id
                FROM logs WHERE trace_id = ? ORDER BY time_ns, id LIMIT ?
                """).bind(1, blob: traceID.bytes).bind(2, limit)
            var logs = [QueryAPI.Log]()
            while try statement.step() {
                let severity = Severity(rawValue: statement.int(3))
                let text = statement.string(4)
                logs.append(QueryAPI.Log(
                    timeUnixNano: statement.uint64(0), observedTimeUnixNano: statement.uint64(1),
                    service: statement.string(2), severityNumber: severity.rawValue,
                    severityText: text.isEmpty ? severity.name : text,
                    body: CompactEncoding.decodeValue(statement.blob(5)),
                    attributes: CompactEncoding.decodeAttributes(statement.blob(6)).dictionary,
                    traceID: TraceID(bytes: statement.blob(7)),
                    spanID: statement.isNull(8) ? nil : SpanID(statement.uint64(8))))
            }
            return logs
        }
    }

    /// Points of one metric (optionally of one service), oldest first.
    func metricPoints(name: String, service: String?, limit: Int) throws -> [QueryAPI.MetricPoint] {
        try reader.withLock { database in
            let statement = try database.statement("""
                SELECT name, service, kind, time_ns, value, attributes FROM metric_points
                WHERE name = ? AND (? IS NULL OR service = ?) ORDER BY time_ns, id LIMIT ?
                """).bind(1, name)
            if let service { statement.bind(2, service).bind(3, service) } else { statement.bindNull(2).bindNull(3) }
            statement.bind(4, limit)
            var points = [QueryAPI.MetricPoint]()
            while try statement.step() {
                points.append(QueryAPI.MetricPoint(
                    name: statement.string(0), service: statement.string(1), kind: statement.string(2),
                    timeUnixNano: statement.uint64(3), value: statement.double(4),
                    attributes: CompactEncoding.decodeAttributes(statement.blob(5)).dictionary))
            }
            return points
        }
    }

    /// Row counts per table, for tests and `/api/v1/status`.
    func counts() throws -> [String: Int] {
        try reader.withLock { database in
            var out = [String: Int]()
            for table in ["spans", "logs", "metric_points", "ingested_batches"] {
                let statement = try database.statement("SELECT count(*) FROM \(table)")
                if try statement.step() { out[table] = statement.int(0) }
                _ = try? statement.step()
            }
            return out
        }
    }
}

extension Span.Status.Code {
    var name: String {
        switch self {
        case .unset: return "unset"
        case .ok: return "ok"
        case .error: return "error"
        }
    }
}
