import PeriscopeModel
import PeriscopeOTLP
import Synchronization

/// Writes one day's part of a batch inside the caller's transaction: span blocks and their
/// indexes (`SpanBatchWriter`), log blocks (`LogBlockWriter`), metric rows, ratio-SLO increments and the row counters.
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
    /// Where this write notes what it advanced in `counterBaselines`, to give back on a rollback.
    var baselineChanges: CounterBaselines.Changes? = nil

    /// The keys under which a correlation ID travels (DESIGN §6).
    static let correlationKeys = ["correlation_id", "request_id", "x-request-id", "correlation.id"]

    /// Stores the spans; returns what they add to the rollups, for the partition to keep until
    /// its next rollup flush (the span blocks are their journal).
    func insert(_ groups: [ResourceSpans]) throws -> RollupDeltas {
        let stored = try SpanBatchWriter(database: database, indexedAttributes: indexedAttributes, blocks: blocks, operationLimit: operations, largeTraces: largeTraces).insert(groups)
        let deltas = RollupDeltas(spans: stored, objectives: objectives, operations: operations)
        if deltas.foldedRequests > 0 { try count("folded_operation_spans", deltas.foldedRequests) }
        return deltas
    }

    func insert(_ groups: [ResourceLogs]) throws {
        try count("logs", try LogBlockWriter.insert(groups, into: database))
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
            let resource = try ResourceRows.id(of: group.resource, in: database)
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
            RollupDeltas.ratioSLOs(groups, objectives: objectives) { counterBaselines?.increases($0, recording: baselineChanges) ?? $0.map { _ in 0 } })
    }
}
