import PeriscopeModel
import PeriscopeOTLP
import Synchronization

/// Writes one day's part of a batch inside the caller's transaction: span blocks and their
/// indexes (`SpanBatchWriter`), log and metric rows, ratio-SLO increments and the row counters.
struct PartitionWriter {
    let database: SQLiteDatabase
    let indexedAttributes: Set<String>
    let blocks: SpanBlockCache
    var objectives: [ServiceLevelObjective] = []
    /// Caps distinct operations per service in rollups and the operations list.
    var operations: OperationLimit? = nil
    var largeTraces: LargeTraceSpanIDs? = nil
    /// Last value of each cumulative counter series that feeds a ratio SLO.
    var counterBaselines: CounterBaselines? = nil

    /// The keys under which a correlation ID travels (DESIGN §6).
    static let correlationKeys = ["correlation_id", "request_id", "x-request-id", "correlation.id"]

    private func resourceID(_ resource: Resource) throws -> Int64 {
        let encoded = CompactEncoding.encode(attributes: resource.attributes)
        try database.statement("INSERT OR IGNORE INTO resources (attributes) VALUES (?)").bind(1, blob: encoded).run()
        let select = try database.statement("SELECT id FROM resources WHERE attributes = ?").bind(1, blob: encoded)
        guard try select.step() else { throw SQLiteError(code: 0, message: "resource row vanished") }
        let id = select.int64(0)
        _ = try select.step()
        return id
    }

    /// Stores the spans; returns what they add to the rollups, for the partition to keep until
    /// its next rollup flush (the span blocks are their journal).
    func insert(_ groups: [ResourceSpans]) throws -> RollupDeltas {
        let stored = try SpanBatchWriter(database: database, indexedAttributes: indexedAttributes, blocks: blocks, operationLimit: operations, largeTraces: largeTraces).insert(groups)
        let deltas = RollupDeltas(spans: stored, objectives: objectives, operations: operations)
        if deltas.foldedRequests > 0 { try count("folded_operation_spans", deltas.foldedRequests) }
        return deltas
    }

    func insert(_ groups: [ResourceLogs]) throws {
        let sql = """
            INSERT INTO logs (time_ns, observed_ns, service, severity_number, severity_text, body, body_text, attributes,
                trace_id, span_id, correlation_id, resource_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        for group in groups {
            let resource = try resourceID(group.resource)
            let service = group.resource.serviceName
            try database.statement("INSERT OR IGNORE INTO log_services (service) VALUES (?)").bind(1, service).run()
            let statement = try database.statement(sql)
            for scope in group.scopes {
                for record in scope.records {
                    statement.bind(1, record.effectiveTimeUnixNano).bind(2, record.observedTimeUnixNano)
                        .bind(3, service).bind(4, record.severityNumber.rawValue).bind(5, record.severityText)
                        .bind(6, blob: CompactEncoding.encode(value: record.body)).bind(7, record.body.text)
                        .bind(8, blob: CompactEncoding.encode(attributes: record.attributes))
                        .bind(9, blob: record.traceID?.bytes)
                        .bind(12, resource)
                    if let spanID = record.spanID { statement.bind(10, spanID.value) } else { statement.bindNull(10) }
                    let correlation = Self.correlationID(record.attributes)
                    if let correlation { statement.bind(11, correlation) } else { statement.bindNull(11) }
                    try statement.run()
                    try LogKeys.insert(log: database.lastInsertRowID, traceID: record.traceID, correlationID: correlation, into: database)
                }
            }
        }
        try count("logs", groups.reduce(0) { $0 + $1.scopes.reduce(0) { $0 + $1.records.count } })
    }

    /// Adds to one of the partition's row counters (`counters`).
    func count(_ name: String, _ rows: Int) throws {
        try database.statement("UPDATE counters SET value = value + ? WHERE name = ?").bind(1, rows).bind(2, name).run()
    }

    static func correlationID(_ attributes: [Attribute]) -> String? {
        for key in correlationKeys {
            if let value = attributes[key], case let text = value.text, !text.isEmpty { return text }
        }
        return nil
    }

    func insert(_ groups: [ResourceMetrics]) throws {
        let sql = """
            INSERT INTO metric_points (name, service, kind, time_ns, value, attributes, histogram, resource_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """
        try recordRatioSLOs(groups)
        var stored = 0
        for group in groups {
            let resource = try resourceID(group.resource)
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
                            stored += 1
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
                            stored += 1
                        }
                    }
                }
            }
        }
        try count("metric_points", stored)
    }
}

extension PartitionWriter {
    /// Journals what the batch adds to ratio SLOs (`RollupDeltas.ratioSLOs`).
    func recordRatioSLOs(_ groups: [ResourceMetrics]) throws {
        try RollupWriter(database: database).journal(
            RollupDeltas.ratioSLOs(groups, objectives: objectives) { counterBaselines?.increases($0) ?? $0.map { _ in 0 } })
    }
}
