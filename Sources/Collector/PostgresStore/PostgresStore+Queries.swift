import NIOCore
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeQueryAPI
import PostgresNIO

extension PostgresStore {
    func trace(_ traceID: TraceID, limit: Int) throws -> QueryAPI.Trace? {
        try reading { session in
            var gathering = TraceGathering(traceID, limit: limit)
            for (day, segments) in try PostgresDayBlocks.segments(of: [traceID], day: nil, session).sorted(by: { $0.key < $1.key }) {
                let source = PostgresDayBlocks(session: session, day: day, cache: blocks, segments: segments)
                try source.prefetchBlocks()
                try source.forEachSpan(of: traceID) { gathering.add($0, $1) }
            }
            return gathering.trace
        }
    }

    func summary(_ traceID: TraceID) throws -> QueryAPI.TraceSummary? {
        try reading { try summaries([traceID], $0)[traceID] }
    }

    /// Traces summarised together: one statement for their segments and one per day for the blocks not cached.
    static let summaryGroup = 16

    /// The summaries of traces, each merged over the days it spans, `summaryGroup` at a time.
    func summaries(_ traceIDs: [TraceID], _ session: PostgresSession) throws -> [TraceID: QueryAPI.TraceSummary] {
        var out = [TraceID: QueryAPI.TraceSummary]()
        for first in stride(from: 0, to: traceIDs.count, by: Self.summaryGroup) {
            let group = Array(traceIDs[first..<min(traceIDs.count, first + Self.summaryGroup)])
            var merged = [TraceID: TraceSummaryParts]()
            for (day, segments) in try PostgresDayBlocks.segments(of: group, day: nil, session).sorted(by: { $0.key < $1.key }) {
                let source = PostgresDayBlocks(session: session, day: day, cache: blocks, segments: segments)
                try source.prefetchBlocks()
                for traceID in group {
                    guard let parts = try source.summaryParts(of: traceID) else { continue }
                    if merged[traceID] == nil { merged[traceID] = parts } else { merged[traceID]!.merge(parts) }
                }
            }
            for (traceID, parts) in merged { out[traceID] = parts.summary(traceID) }
        }
        return out
    }

    /// As the SQLite store's search (`TraceSearch`), through one session.
    func searchTraces(_ query: TraceQuery) throws -> QueryAPI.TraceList {
        try reading { session in
            var sources = [PartitionDay: PostgresDayBlocks]()
            return try TraceSearch.run(
                query, indexedAttributes: indexedAttributes,
                daysNewestFirst: Array(days(from: query.startUnixNano, to: query.endUnixNano, session).reversed()), summaryGroup: Self.summaryGroup,
                page: { search, day, wanted in
                    let source = sources[day] ?? PostgresDayBlocks(session: session, day: day, cache: blocks)
                    sources[day] = source
                    return try search.next(wanted, in: source)
                },
                summaries: { try summaries($0, session) })
        }
    }

    /// Days up to today a search by trace-ID prefix looks through, newest first (and any days ahead of today).
    static let idPrefixDays = 2

    func traces(withIDPrefix prefix: String, limit: Int) throws -> [QueryAPI.TraceSummary] {
        let digits = prefix.lowercased()
        guard digits.count <= 32,
              let low = TraceID(hex: digits + String(repeating: "0", count: 32 - digits.count)),
              let high = TraceID(hex: digits + String(repeating: "f", count: 32 - digits.count)) else { return [] }
        return try reading { session in
            // The trace-ID index is a hash index (equality only): a prefix is found by a scan of
            // each day, so only the newest `idPrefixDays` are looked through (a prefix nobody
            // has would otherwise scan every day of the store), stopping once `limit` are found.
            var ids = Set<TraceID>()
            // Days ahead of today (a sender's clock) do not push the newest real ones out.
            let today = PartitionDay(unixNano: WallClock.nowUnixNano())
            let stored = try days(session)
            let searched = stored.filter { $0 > today }.reversed() + stored.filter { $0 <= today }.reversed().prefix(Self.idPrefixDays)
            for day in searched where ids.count < limit {
                for row in try session.query("""
                    SELECT DISTINCT trace_id FROM periscope.trace_segments
                    WHERE day = \(day.index) AND trace_id BETWEEN \(ByteBuffer(bytes: low.bytes)) AND \(ByteBuffer(bytes: high.bytes))
                    LIMIT \(limit)
                    """, "finding traces by ID prefix") {
                    if let id = TraceID(bytes: Array(try row.decode(ByteBuffer.self).readableBytesView)) { ids.insert(id) }
                }
            }
            let ordered = Array(ids.sorted().prefix(limit))
            let summarised = try summaries(ordered, session)
            return ordered.compactMap { summarised[$0] }
        }
    }

    /// One statement, bounded by the session's `statement_timeout` rather than by
    /// `query.readBudget` (the server reads the rows; there is no block to stop at).
    func logs(_ query: LogQuery) throws -> QueryAPI.Logs {
        var binds = PostgresBindings()
        func bind(_ value: some PostgresThrowingDynamicTypeEncodable) throws -> String {
            try binds.append(value)
            return "$\(binds.count)"
        }
        let keyed = query.traceID != nil || query.correlationID != nil
        // With a trace or correlation ID, its index finds the few rows: the time range is only
        // a filter then (`+ 0`), or the planner may AND in a scan of the whole time index.
        let time = keyed ? "time_ns + 0" : "time_ns"
        var conditions = ["\(time) BETWEEN \(try bind(Int64(clamping: query.startUnixNano))) AND \(try bind(Int64(clamping: query.endUnixNano)))"]
        if let traceID = query.traceID { conditions.append("trace_id = \(try bind(ByteBuffer(bytes: traceID.bytes)))") }
        if let correlation = query.correlationID { conditions.append("correlation_id = \(try bind(PostgresText.key(correlation)))") }
        if let service = query.service { conditions.append("service = \(try bind(PostgresText.key(service)))") }
        if let severity = query.minSeverity { conditions.append("severity_number >= \(try bind(severity))") }
        if let text = query.contains { conditions.append("strpos(body_text, \(try bind(PostgresText.clean(text)))) > 0") }
        let columns = "time_ns, observed_ns, service, severity_number, severity_text, body, body_text, attributes, trace_id, span_id, correlation_id, correlation_key"
        let filtered = "FROM periscope.logs WHERE " + conditions.joined(separator: " AND ")
        let direction = query.newestFirst ? "DESC" : "ASC"
        let order = " ORDER BY time_ns \(direction), id \(direction) LIMIT \(try bind(max(0, query.limit)))"
        // `OFFSET 0` keeps the planner from walking the time index in order instead, hoping to
        // meet the keyed rows early.
        let text = keyed
            ? "SELECT \(columns) FROM (SELECT id, \(columns) \(filtered) OFFSET 0) AS keyed" + order
            : "SELECT \(columns) \(filtered)" + order
        return QueryAPI.Logs(logs: try reading { session in
            try session.query(PostgresQuery(unsafeSQL: text, binds: binds), "reading logs").map { row in
                let (time, observed, service, severityNumber, severityText, body, bodyText, attributes, traceID, spanID, correlation, correlationKey) =
                    try row.decode((Int64, Int64, String, Int, String, ByteBuffer?, String, ByteBuffer, ByteBuffer?, Int64?, String?, Int16?).self)
                let severity = Severity(rawValue: severityNumber)
                return QueryAPI.Log(
                    timeUnixNano: UInt64(clamping: time), observedTimeUnixNano: UInt64(clamping: observed),
                    service: service, severityNumber: severity.rawValue,
                    severityText: severityText.isEmpty ? severity.name : severityText,
                    body: body.map { CompactEncoding.decodeValue(Array($0.readableBytesView)) } ?? .string(bodyText),
                    attributes: LogCorrelation.attributes(
                        CompactEncoding.decodeAttributes(Array(attributes.readableBytesView)).dictionary, id: correlation, keyIndex: correlationKey),
                    traceID: traceID.flatMap { TraceID(bytes: Array($0.readableBytesView)) },
                    spanID: spanID.map { SpanID(UInt64(bitPattern: $0)) })
            }
        })
    }

    func services(limit: Int) throws -> [QueryAPI.Service] {
        try reading { session in
            var operations = [String: Set<QueryAPI.Operation>]()
            for row in try session.query("SELECT DISTINCT service, name, kind FROM periscope.operations", "listing operations") {
                let (service, name, kind) = try row.decode((String, String, Int).self)
                operations[service, default: []].insert(QueryAPI.Operation(name: name, kind: (Span.Kind(rawValue: kind) ?? .unspecified).name))
            }
            for row in try session.query("SELECT DISTINCT service FROM periscope.log_services", "listing log services") {
                operations[try row.decode(String.self), default: []].formUnion([])
            }
            return operations.keys.sorted().map { name in
                let all = operations[name, default: []]
                let listed = all.sorted { ($0.name, $0.kind) < ($1.name, $1.kind) }.prefix(limit)
                return QueryAPI.Service(name: name, operations: Array(listed), operationCount: all.count)
            }
        }
    }

    func dependencies(from start: UInt64, to end: UInt64, budget: CallCountBudget) throws -> QueryAPI.Dependencies {
        try reading { session in
            var calls = ServiceCalls(budget: budget)
            for day in try days(from: start, to: end, session).sorted(by: >) {
                try PostgresDayBlocks(session: session, day: day, cache: blocks).countCalls(from: start, to: end, into: &calls)
            }
            return calls.dependencies
        }
    }

    /// One statement, bounded by the session's `statement_timeout` rather than by `query.readBudget`.
    func metricPoints(_ query: MetricQuery) throws -> QueryAPI.MetricPoints {
        let service = query.service.map(PostgresText.key)
        return QueryAPI.MetricPoints(points: try reading { session in
            try session.query("""
                SELECT name, service, kind, time_ns, value, attributes FROM periscope.metric_points
                WHERE name = \(PostgresText.key(query.name)) AND (\(service)::text IS NULL OR service = \(service))
                AND time_ns BETWEEN \(Int64(clamping: query.startUnixNano)) AND \(Int64(clamping: query.endUnixNano))
                ORDER BY time_ns, id LIMIT \(max(0, query.limit))
                """, "reading metric points").map { row in
                let (name, service, kind, time, value, attributes) = try row.decode((String, String, String, Int64, Double?, ByteBuffer).self)
                return QueryAPI.MetricPoint(
                    name: name, service: service, kind: kind, timeUnixNano: UInt64(clamping: time), value: value ?? 0,
                    attributes: CompactEncoding.decodeAttributes(Array(attributes.readableBytesView)).dictionary)
            }
        })
    }

    /// Row counts: the compacted totals plus the batches not compacted yet, in one statement
    /// (one snapshot: a compaction committing meanwhile moves rows from one to the other unseen).
    func counts() throws -> [String: Int] {
        try sessions.withSession { session in
            let sums = PostgresSchema.counters.map { "coalesce(sum(\($0)), 0)::bigint" }.joined(separator: ", ")
            let columns = PostgresSchema.counters.joined(separator: ", ")
            let sql = """
                SELECT (SELECT count(*) FROM periscope.days), \(sums) FROM (
                    SELECT \(columns) FROM periscope.counts UNION ALL SELECT \(columns) FROM periscope.batch_deltas) AS rows
                """
            guard let row = try session.query(PostgresQuery(unsafeSQL: sql), "counting rows").first else { return [:] }
            var out = [String: Int]()
            for (index, cell) in row.enumerated() {
                out[index == 0 ? "partitions" : PostgresSchema.counters[index - 1]] = try cell.decode(Int.self)
            }
            return out
        }
    }
}
