import PeriscopeTelemetry

/// Writes one day's part of a batch inside the caller's transaction: rows, the attribute
/// index, trace summaries and the operations list.
struct PartitionWriter {
    let database: SQLiteDatabase
    let indexedAttributes: Set<String>
    var objectives: [ServiceLevelObjective] = []
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

    /// A trace's share of one batch, merged into its summary row once per batch.
    private struct TraceDelta {
        var start = UInt64.max
        var end: UInt64 = 0
        var spans = 0
        var errors = 0
        var root: (service: String, name: String)?
        var services = Set<String>()
    }

    func insert(_ groups: [ResourceSpans]) throws {
        let spanSQL = """
            INSERT OR IGNORE INTO spans (trace_id, span_id, parent_span_id, service, name, kind, start_ns, end_ns,
                status_code, resource_id, attributes, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        let attributeSQL = "INSERT OR IGNORE INTO span_attributes (key, value, start_ns, trace_id, span_id) VALUES (?, ?, ?, ?, ?)"
        // Prepared once per batch: looking a cached statement up hashes its whole SQL text.
        let statement = try database.statement(spanSQL)
        let attributeStatement = try database.statement(attributeSQL)
        var deltas = [TraceID: TraceDelta]()
        var operations = Set<OperationKey>()
        var stored = [(service: String, span: Span)]()
        for group in groups {
            let resource = try resourceID(group.resource)
            let service = group.resource.serviceName
            for scope in group.scopes {
                for span in scope.spans {
                    let traceBytes = span.traceID.bytes
                    statement.bind(1, blob: traceBytes).bind(2, span.spanID.value)
                    if let parent = span.parentSpanID { statement.bind(3, parent.value) } else { statement.bindNull(3) }
                    statement.bind(4, service).bind(5, span.name).bind(6, span.kind.rawValue)
                        .bind(7, span.startTimeUnixNano).bind(8, span.endTimeUnixNano)
                        .bind(9, span.status.code.rawValue).bind(10, resource)
                        .bind(11, blob: CompactEncoding.encode(attributes: span.attributes))
                        .bind(12, blob: CompactEncoding.encodeDetails(of: span))
                    try statement.run()
                    // A span stored before (same trace and span ID) changes nothing, summaries included.
                    guard database.changes > 0 else { continue }
                    for attribute in span.attributes where indexedAttributes.contains(attribute.key) {
                        try attributeStatement.bind(1, attribute.key).bind(2, attribute.value.text)
                            .bind(3, span.startTimeUnixNano).bind(4, blob: traceBytes).bind(5, span.spanID.value).run()
                    }
                    var delta = deltas[span.traceID, default: TraceDelta()]
                    delta.start = min(delta.start, span.startTimeUnixNano)
                    delta.end = max(delta.end, span.endTimeUnixNano)
                    delta.spans += 1
                    if span.status.code == .error { delta.errors += 1 }
                    if span.parentSpanID == nil { delta.root = (service, span.name) }
                    delta.services.insert(service)
                    deltas[span.traceID] = delta
                    operations.insert(OperationKey(service: service, name: span.name, kind: span.kind.rawValue))
                    stored.append((service, span))
                }
            }
        }
        for (traceID, delta) in deltas { try mergeSummary(traceID, delta) }
        try RollupWriter(database: database).journal(RollupDeltas(spans: stored, objectives: objectives))
        for operation in operations {
            try database.statement("INSERT OR IGNORE INTO operations (service, name, kind) VALUES (?, ?, ?)")
                .bind(1, operation.service).bind(2, operation.name).bind(3, operation.kind).run()
        }
    }

    private struct OperationKey: Hashable {
        var service: String
        var name: String
        var kind: Int
    }

    private func mergeSummary(_ traceID: TraceID, _ delta: TraceDelta) throws {
        let select = try database.statement("SELECT services FROM traces WHERE trace_id = ?").bind(1, blob: traceID.bytes)
        var services = delta.services
        if try select.step() {
            services.formUnion(select.string(0).split(separator: ",").map(String.init))
            _ = try select.step()
        }
        let statement = try database.statement("""
            INSERT INTO traces (trace_id, start_ns, end_ns, span_count, error_count, root_service, root_name, services)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (trace_id) DO UPDATE SET
                start_ns = min(start_ns, excluded.start_ns), end_ns = max(end_ns, excluded.end_ns),
                span_count = span_count + excluded.span_count, error_count = error_count + excluded.error_count,
                root_service = coalesce(excluded.root_service, root_service),
                root_name = coalesce(excluded.root_name, root_name), services = excluded.services
            """)
        statement.bind(1, blob: traceID.bytes).bind(2, delta.start).bind(3, delta.end).bind(4, delta.spans).bind(5, delta.errors)
        if let root = delta.root { statement.bind(6, root.service).bind(7, root.name) } else { statement.bindNull(6).bindNull(7) }
        statement.bind(8, services.sorted().joined(separator: ","))
        try statement.run()
    }

    func insert(_ groups: [ResourceLogs]) throws {
        let sql = """
            INSERT INTO logs (time_ns, observed_ns, service, severity_number, severity_text, body, body_text, attributes,
                trace_id, span_id, correlation_id, resource_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        for group in groups {
            let resource = try resourceID(group.resource)
            let service = group.resource.serviceName
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
                    if let correlation = Self.correlationID(record.attributes) { statement.bind(11, correlation) } else { statement.bindNull(11) }
                    try statement.run()
                }
            }
        }
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
}

extension PartitionWriter {
    /// Feeds ratio SLOs from their good/total counters: delta points are increments as
    /// they are; cumulative points count their increase over the series' previous point
    /// (a drop is a counter reset, so the new value is the increase).
    func recordRatioSLOs(_ groups: [ResourceMetrics]) throws {
        var increments = [(slo: String, minute: Int64, good: Double, total: Double)]()
        for objective in objectives {
            guard case .ratio(let goodName, let totalName) = objective.indicator else { continue }
            for group in groups {
                if let service = objective.service, service != group.resource.serviceName { continue }
                for scope in group.scopes {
                    for metric in scope.metrics where metric.name == goodName || metric.name == totalName {
                        guard case .sum(let points, let temporality, _) = metric.data else { continue }
                        for point in points {
                            let value = point.value.asDouble
                            var increase = value
                            if temporality == .cumulative {
                                let series = group.resource.serviceName + "\u{0}" + metric.name + "\u{0}" + CompactEncoding.encode(attributes: point.attributes).map(String.init).joined(separator: ",")
                                increase = counterBaselines?.increase(series: series, value: value) ?? 0
                            }
                            let minute = Resolution.minute.bucket(point.timeUnixNano)
                            increments.append((objective.name, minute, metric.name == goodName ? increase : 0, metric.name == totalName ? increase : 0))
                        }
                    }
                }
            }
        }
        try RollupWriter(database: database).journal(RollupDeltas(ratioIncrements: increments))
    }
}

/// Last seen values of cumulative counters, to turn them into increments. Kept in memory:
/// after a collector restart each series' first point only sets its baseline.
final class CounterBaselines: Sendable {
    private let values = Mutex<[String: Double]>([:])

    func increase(series: String, value: Double) -> Double {
        values.withLock { values in
            defer { values[series] = value }
            guard let previous = values[series] else { return 0 }
            return value >= previous ? value - previous : value
        }
    }
}

import Synchronization
