import PeriscopeTelemetry

/// A trace search (DESIGN §1 step 4): every filter optional, all of them ANDed.
struct TraceQuery: Equatable, Sendable {
    var service: String?
    var operation: String?
    var kind: Span.Kind?
    /// `key=value` pairs that must all hold on one span.
    var attributes: [Attribute] = []
    var status: Span.Status.Code?
    var minSpanDurationNanos: UInt64?
    var maxSpanDurationNanos: UInt64?
    var minTraceDurationNanos: UInt64?
    var maxTraceDurationNanos: UInt64?
    var startUnixNano: UInt64 = 0
    var endUnixNano: UInt64 = .max
    var limit = 20
}

/// A log search: every filter optional, ANDed.
struct LogQuery: Equatable, Sendable {
    var traceID: TraceID?
    var correlationID: String?
    var service: String?
    /// The least severity number to include (9 for INFO and above, …).
    var minSeverity: Int?
    /// Text the body must contain (case-sensitive).
    var contains: String?
    var startUnixNano: UInt64 = 0
    var endUnixNano: UInt64 = .max
    var limit = 1000
    /// Newest first (then the caller usually reverses) instead of oldest first.
    var newestFirst = false
}

/// Most candidate spans one search looks at before it answers with what it found.
private let maxCandidateSpans = 200_000

extension TelemetryStore {
    /// Every span of one trace, across partitions, by start time; `nil` if the store has none.
    func trace(_ traceID: TraceID) throws -> QueryAPI.Trace? {
        var spans = [QueryAPI.Span]()
        for partition in allPartitions {
            try partition.reader.withLock { database in
                let statement = try database.statement("""
                    SELECT s.span_id, s.parent_span_id, s.service, s.name, s.kind, s.start_ns, s.end_ns, s.status_code,
                           s.attributes, s.details, r.attributes
                    FROM spans s LEFT JOIN resources r ON r.id = s.resource_id
                    WHERE s.trace_id = ?
                    """).bind(1, blob: traceID.bytes)
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
            }
        }
        guard !spans.isEmpty else { return nil }
        spans.sort { ($0.startTimeUnixNano, $0.spanID) < ($1.startTimeUnixNano, $1.spanID) }
        return QueryAPI.Trace(traceID: traceID, spans: spans)
    }

    /// The summary of one trace, merged over the days it spans.
    func summary(_ traceID: TraceID) throws -> QueryAPI.TraceSummary? {
        var merged: QueryAPI.TraceSummary?
        var end: UInt64 = 0
        for partition in allPartitions {
            try partition.reader.withLock { database in
                let statement = try database.statement("""
                    SELECT start_ns, end_ns, span_count, error_count, root_service, root_name, services FROM traces WHERE trace_id = ?
                    """).bind(1, blob: traceID.bytes)
                guard try statement.step() else { return }
                let start = statement.uint64(0)
                end = max(end, statement.uint64(1))
                let services = statement.string(6).split(separator: ",").map(String.init)
                if var summary = merged {
                    summary.startTimeUnixNano = min(summary.startTimeUnixNano, start)
                    summary.spanCount += statement.int(2)
                    summary.errorCount += statement.int(3)
                    summary.rootService = summary.rootService ?? (statement.isNull(4) ? nil : statement.string(4))
                    summary.rootName = summary.rootName ?? (statement.isNull(5) ? nil : statement.string(5))
                    summary.services = Array(Set(summary.services).union(services)).sorted()
                    merged = summary
                } else {
                    merged = QueryAPI.TraceSummary(
                        traceID: traceID, startTimeUnixNano: start, durationNanos: 0,
                        rootService: statement.isNull(4) ? nil : statement.string(4),
                        rootName: statement.isNull(5) ? nil : statement.string(5),
                        spanCount: statement.int(2), errorCount: statement.int(3), services: services)
                }
                _ = try statement.step()
            }
        }
        if var summary = merged {
            summary.durationNanos = end >= summary.startTimeUnixNano ? end - summary.startTimeUnixNano : 0
            merged = summary
        }
        return merged
    }

    /// Traces with a span matching every span filter and a summary matching the trace filters,
    /// newest first (by the matching span's start).
    func searchTraces(_ query: TraceQuery) throws -> [QueryAPI.TraceSummary] {
        var found = [QueryAPI.TraceSummary]()
        var seen = Set<TraceID>()
        var examined = 0
        let indexed = query.attributes.first { indexedAttributes.contains($0.key) }
        // Attribute filters SQL cannot answer from the index are checked on each candidate span.
        let needsPostFilter = query.attributes.count > (indexed == nil ? 0 : 1)
        for partition in partitions(from: query.startUnixNano, to: query.endUnixNano).reversed() {
            var conditions = ["s.start_ns BETWEEN ? AND ?"]
            var from = "spans s"
            if indexed != nil {
                from = "span_attributes a JOIN spans s ON s.trace_id = a.trace_id AND s.span_id = a.span_id"
                conditions = ["a.key = ?", "a.value = ?", "a.start_ns BETWEEN ? AND ?"]
            }
            if query.service != nil { conditions.append("s.service = ?") }
            if query.operation != nil { conditions.append("s.name = ?") }
            if query.kind != nil { conditions.append("s.kind = ?") }
            if query.status != nil { conditions.append("s.status_code = ?") }
            if query.minSpanDurationNanos != nil { conditions.append("s.end_ns - s.start_ns >= ?") }
            if query.maxSpanDurationNanos != nil { conditions.append("s.end_ns - s.start_ns <= ?") }
            let order = indexed != nil ? "a.start_ns" : "s.start_ns"
            let sql = "SELECT s.trace_id, s.attributes FROM \(from) WHERE \(conditions.joined(separator: " AND ")) ORDER BY \(order) DESC"
            let rows: [(TraceID, [UInt8])] = try partition.reader.withLock { database in
                let statement = try database.statement(sql)
                var index: Int32 = 1
                func next() -> Int32 { defer { index += 1 }; return index }
                if let indexed {
                    statement.bind(next(), indexed.key).bind(next(), indexed.value.text)
                }
                statement.bind(next(), query.startUnixNano).bind(next(), min(query.endUnixNano, UInt64(Int64.max)))
                if let service = query.service { statement.bind(next(), service) }
                if let operation = query.operation { statement.bind(next(), operation) }
                if let kind = query.kind { statement.bind(next(), kind.rawValue) }
                if let status = query.status { statement.bind(next(), status.rawValue) }
                if let minimum = query.minSpanDurationNanos { statement.bind(next(), minimum) }
                if let maximum = query.maxSpanDurationNanos { statement.bind(next(), maximum) }
                var rows = [(TraceID, [UInt8])]()
                var distinct = Set<TraceID>()
                while try statement.step() {
                    examined += 1
                    guard let traceID = TraceID(bytes: statement.blob(0)), !seen.contains(traceID) else { continue }
                    if needsPostFilter {
                        rows.append((traceID, statement.blob(1)))
                        distinct.insert(traceID)
                    } else if distinct.insert(traceID).inserted {
                        rows.append((traceID, []))
                    }
                    // Enough distinct candidates to fill the page even if some fail the later filters.
                    if distinct.count >= query.limit * 20 || examined >= maxCandidateSpans { break }
                }
                sqliteResetQuietly(statement)
                return rows
            }
            for (traceID, attributeBlob) in rows where !seen.contains(traceID) {
                if needsPostFilter {
                    let attributes = CompactEncoding.decodeAttributes(attributeBlob)
                    let matches = query.attributes.allSatisfy { wanted in
                        attributes.contains { $0.key == wanted.key && $0.value.text == wanted.value.text }
                    }
                    guard matches else { continue }
                }
                seen.insert(traceID)
                guard let summary = try summary(traceID) else { continue }
                if let minimum = query.minTraceDurationNanos, summary.durationNanos < minimum { continue }
                if let maximum = query.maxTraceDurationNanos, summary.durationNanos > maximum { continue }
                found.append(summary)
                if found.count >= query.limit { return found }
            }
            if examined >= maxCandidateSpans { break }
        }
        return found
    }

    /// Traces whose ID starts with `prefix` (hex digits), at most `limit`, for short IDs typed by hand.
    func traces(withIDPrefix prefix: String, limit: Int) throws -> [QueryAPI.TraceSummary] {
        let digits = Array(prefix.lowercased())
        let low = TraceID(hex: String(digits) + String(repeating: "0", count: 32 - digits.count))
        let high = TraceID(hex: String(digits) + String(repeating: "f", count: 32 - digits.count))
        guard let low, let high else { return [] }
        var ids = Set<TraceID>()
        for partition in allPartitions where ids.count < limit {
            try partition.reader.withLock { database in
                let statement = try database.statement("SELECT trace_id FROM traces WHERE trace_id BETWEEN ? AND ? LIMIT ?")
                    .bind(1, blob: low.bytes).bind(2, blob: high.bytes).bind(3, limit)
                while try statement.step() {
                    if let id = TraceID(bytes: statement.blob(0)) { ids.insert(id) }
                }
            }
        }
        return try ids.sorted().prefix(limit).compactMap { try summary($0) }
    }

    /// Log records matching every filter, oldest first (or newest first).
    func logs(_ query: LogQuery) throws -> [QueryAPI.Log] {
        var conditions = ["time_ns BETWEEN ? AND ?"]
        if query.traceID != nil { conditions.append("trace_id = ?") }
        if query.correlationID != nil { conditions.append("correlation_id = ?") }
        if query.service != nil { conditions.append("service = ?") }
        if query.minSeverity != nil { conditions.append("severity_number >= ?") }
        if query.contains != nil { conditions.append("instr(body_text, ?) > 0") }
        let direction = query.newestFirst ? "DESC" : "ASC"
        let sql = """
            SELECT time_ns, observed_ns, service, severity_number, severity_text, body, attributes, trace_id, span_id
            FROM logs WHERE \(conditions.joined(separator: " AND ")) ORDER BY time_ns \(direction), id \(direction) LIMIT ?
            """
        var logs = [QueryAPI.Log]()
        var partitions = partitions(from: query.startUnixNano, to: query.endUnixNano)
        if query.newestFirst { partitions.reverse() }
        for partition in partitions where logs.count < query.limit {
            try partition.reader.withLock { database in
                let statement = try database.statement(sql)
                var index: Int32 = 1
                func next() -> Int32 { defer { index += 1 }; return index }
                statement.bind(next(), query.startUnixNano).bind(next(), min(query.endUnixNano, UInt64(Int64.max)))
                if let traceID = query.traceID { statement.bind(next(), blob: traceID.bytes) }
                if let correlation = query.correlationID { statement.bind(next(), correlation) }
                if let service = query.service { statement.bind(next(), service) }
                if let severity = query.minSeverity { statement.bind(next(), severity) }
                if let text = query.contains { statement.bind(next(), text) }
                statement.bind(next(), query.limit - logs.count)
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
            }
        }
        return logs
    }

    /// Every service with spans or logs, with its span operations.
    func services() throws -> [QueryAPI.Service] {
        var operations = [String: Set<QueryAPI.Operation>]()
        for partition in allPartitions {
            try partition.reader.withLock { database in
                let statement = try database.statement("SELECT service, name, kind FROM operations")
                while try statement.step() {
                    let kind = (Span.Kind(rawValue: statement.int(2)) ?? .unspecified).name
                    operations[statement.string(0), default: []].insert(QueryAPI.Operation(name: statement.string(1), kind: kind))
                }
                let logServices = try database.statement("SELECT DISTINCT service FROM logs")
                while try logServices.step() { operations[logServices.string(0), default: []].formUnion([]) }
            }
        }
        return operations.keys.sorted().map { name in
            QueryAPI.Service(name: name, operations: operations[name, default: []].sorted { ($0.name, $0.kind) < ($1.name, $1.kind) })
        }
    }

    /// Caller → callee edges: a span whose parent belongs to another service is one call.
    func dependencies(from start: UInt64, to end: UInt64) throws -> [QueryAPI.Dependency] {
        var edges = [String: QueryAPI.Dependency]()
        for partition in partitions(from: start, to: end) {
            try partition.reader.withLock { database in
                let statement = try database.statement("""
                    SELECT p.service, c.service, count(*), sum(c.status_code = 2)
                    FROM spans c JOIN spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id
                    WHERE c.start_ns BETWEEN ? AND ? AND c.parent_span_id IS NOT NULL AND p.service != c.service
                    GROUP BY p.service, c.service
                    """).bind(1, start).bind(2, min(end, UInt64(Int64.max)))
                while try statement.step() {
                    let key = statement.string(0) + "\u{0}" + statement.string(1)
                    var edge = edges[key] ?? QueryAPI.Dependency(caller: statement.string(0), callee: statement.string(1), calls: 0, errors: 0)
                    edge.calls += statement.int(2)
                    edge.errors += statement.int(3)
                    edges[key] = edge
                }
            }
        }
        return edges.values.sorted { ($0.caller, $0.callee) < ($1.caller, $1.callee) }
    }

    /// Points of one metric (optionally of one service), oldest first.
    func metricPoints(name: String, service: String?, limit: Int) throws -> [QueryAPI.MetricPoint] {
        var points = [QueryAPI.MetricPoint]()
        for partition in allPartitions where points.count < limit {
            try partition.reader.withLock { database in
                let statement = try database.statement("""
                    SELECT name, service, kind, time_ns, value, attributes FROM metric_points
                    WHERE name = ? AND (? IS NULL OR service = ?) ORDER BY time_ns, id LIMIT ?
                    """).bind(1, name)
                if let service { statement.bind(2, service).bind(3, service) } else { statement.bindNull(2).bindNull(3) }
                statement.bind(4, limit - points.count)
                while try statement.step() {
                    points.append(QueryAPI.MetricPoint(
                        name: statement.string(0), service: statement.string(1), kind: statement.string(2),
                        timeUnixNano: statement.uint64(3), value: statement.double(4),
                        attributes: CompactEncoding.decodeAttributes(statement.blob(5)).dictionary))
                }
            }
        }
        return points
    }

    /// Row counts summed over partitions, for tests and `/api/v1/status`.
    func counts() throws -> [String: Int] {
        var out = ["spans": 0, "logs": 0, "metric_points": 0, "ingested_batches": 0, "traces": 0, "partitions": 0]
        for partition in allPartitions {
            out["partitions", default: 0] += 1
            try partition.reader.withLock { database in
                for table in ["spans", "logs", "metric_points", "ingested_batches", "traces"] {
                    let statement = try database.statement("SELECT count(*) FROM \(table)")
                    if try statement.step() { out[table, default: 0] += statement.int(0) }
                    _ = try? statement.step()
                }
            }
        }
        return out
    }
}

/// Ends a statement left mid-rows so its read transaction does not pin the WAL.
func sqliteResetQuietly(_ statement: Statement) {
    statement.reset()
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
