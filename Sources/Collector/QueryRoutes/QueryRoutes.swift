import Hummingbird
import Logging
import PeriscopeServer
import PeriscopeModel
import PeriscopeQueryAPI

/// The JSON query API under `/api/v1`. Documents are `QueryAPI` types; errors are
/// `QueryAPI.ErrorBody` with a sentence saying what to change. Every value reaches SQLite
/// as a bound parameter.
struct QueryRoutes: Sendable {
    let store: any TelemetryStore
    /// Where a store failure is reported (the client gets its sentence as JSON, the operator the log line).
    var logger = Logger(label: "periscope-collector.query")
    /// Every question fails alike while the disk is full: one log line a minute.
    let diskFullLog = LogThrottle()
    /// Records one log search decodes (`LogQuery.readBudget`).
    var logReadBudget = maxLogRecordsRead

    static let maxLimit = 10_000
    /// Spans one trace answer may bring: twice as many are built and held while it is read.
    static let maxTraceSpans = 100_000

    func register(on router: Router<BasicRequestContext>) {
        let api = router.group("api/v1")
        api.get("traces/:traceID") { request, context in
            let limit: Int
            do throws(QueryParameters.Invalid) {
                limit = try QueryParameters(query: request.uri.query).integer("limit", in: 1...Self.maxTraceSpans, default: 50_000)
            } catch {
                return Self.error(.badRequest, error.message)
            }
            let text = try context.parameters.require("traceID")
            do {
                return try await self.trace(text, limit: limit)
            } catch {
                return self.storeFailed(error, request: request)
            }
        }
        api.get("traces") { request, _ in
            await self.answer(request) { try await self.searchTraces(QueryParameters(query: request.uri.query)) }
        }
        api.get("logs") { request, _ in
            await self.answer(request) { try await self.logs(QueryParameters(query: request.uri.query)) }
        }
        api.get("services") { request, _ in
            await self.answer(request) {
                let limit = try QueryParameters(query: request.uri.query).integer("limit", in: 1...Self.maxLimit, default: 1000)
                return QueryAPI.Services(services: try await self.run { try $0.services(limit: limit) })
            }
        }
        api.get("dependencies") { request, _ in
            await self.answer(request) { try await self.dependencies(QueryParameters(query: request.uri.query)) }
        }
        api.get("metrics") { request, _ in
            await self.answer(request) {
                let parameters = QueryParameters(query: request.uri.query)
                guard let name = parameters.string("name") else { throw QueryParameters.Invalid(message: "give name=<metric name>") }
                var query = MetricQuery(name: name, service: parameters.string("service"))
                query.startUnixNano = try parameters.time("start") ?? 0
                query.endUnixNano = try parameters.time("end") ?? .max
                guard query.startUnixNano <= query.endUnixNano else { throw QueryParameters.Invalid(message: "start must not be after end") }
                query.limit = try parameters.integer("limit", in: 1...Self.maxLimit, default: 1000)
                let finalQuery = query
                return try await self.run { try $0.metricPoints(finalQuery) }
            }
        }
        api.get("signals") { request, _ in
            await self.answer(request) { try await self.signals(QueryParameters(query: request.uri.query)) }
        }
        api.get("slos") { request, _ in
            await self.answer(request) { try await self.slos(QueryParameters(query: request.uri.query)) }
        }
        api.get("slos/:name") { request, context in
            // The path segment as sent: a name with a space, a slash or letters outside ASCII arrives percent-encoded.
            let segment = try context.parameters.require("name")
            let name = segment.removingPercentEncoding ?? segment
            guard self.store.objectives.contains(where: { $0.name == name }) else {
                return Self.error(.notFound, "no SLO named '\(name)'; list them with GET /api/v1/slos")
            }
            return await self.answer(request) {
                guard let detail = try await self.slo(named: name, QueryParameters(query: request.uri.query)) else {
                    throw QueryParameters.Invalid(message: "no SLO named '\(name)'")
                }
                return detail
            }
        }
        api.get("status") { request, _ in
            await self.answer(request) { try await self.run { try $0.counts() } }
        }
    }

    /// Runs a blocking store call off the cooperative pool, on the queries' own threads.
    func run<T: Sendable>(_ body: @escaping @Sendable (any TelemetryStore) throws -> T) async throws -> T {
        let store = self.store
        return try await BlockingIO.runQuery { try body(store) }
    }

    func answer(_ request: Request, _ body: () async throws -> some Encodable) async -> Response {
        do {
            return Response.json(try await body())
        } catch let error as QueryParameters.Invalid {
            return Self.error(.badRequest, error.message)
        } catch {
            return storeFailed(error, request: request)
        }
    }

    /// A store that could not answer: a JSON body that says why, and the same sentence in the
    /// collector's log. A disk that refuses writes (full) is a 503 with `Retry-After` (signals
    /// and SLOs merge pending rollups before they read, which needs room); a PostgreSQL query
    /// ended by its statement timeout a 503 that says to narrow it; anything else (a damaged
    /// day file) a 500.
    func storeFailed(_ error: any Error, request: Request) -> Response {
        let failure = storeFailure(error, request: request)
        var response = Self.error(failure.status, failure.message)
        if let retryAfter = failure.retryAfterSeconds { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    /// Why the store could not answer, logged once here: the status, the sentence, and when to retry.
    func storeFailure(_ error: any Error, request: Request) -> (status: HTTPResponse.Status, message: String, retryAfterSeconds: Int?) {
        if let postgres = error as? PostgresStoreError, postgres.isStatementCancelled {
            let message = "the store ended the query (\(postgres)): it ran past the statement timeout, or was cancelled; narrow the time range or add a filter"
            logger.warning("\(ControlCharacters.escaped(request.uri.path)): \(message)")
            return (.serviceUnavailable, message, nil)
        }
        if let sqlite = error as? SQLiteError, sqlite.isWriteRefused {
            let message = "the collector cannot write to its disk (\(sqlite)): free space in its data directory, or check the disk; retry later"
            if let held = diskFullLog.admit() {
                logger.error("\(ControlCharacters.escaped(request.uri.path)): \(message)\(LogThrottle.heldBack(held, "such answers"))")
            }
            return (.serviceUnavailable, message, 5)
        }
        let message = "the store failed to answer: \(error)"
        logger.error("\(ControlCharacters.escaped(request.uri.path)): \(message)")
        return (.internalServerError, message, nil)
    }

    /// `GET /api/v1/signals`: the last hour unless `start`/`end` say otherwise.
    func signals(_ parameters: QueryParameters) async throws -> QueryAPI.Signals {
        let now = WallClock.nowUnixNano()
        var query = SignalsQuery(startUnixNano: 0, endUnixNano: now)
        query.endUnixNano = try parameters.time("end") ?? now
        query.startUnixNano = try parameters.time("start") ?? (query.endUnixNano - min(query.endUnixNano, 3_600_000_000_000))
        guard query.startUnixNano < query.endUnixNano else { throw QueryParameters.Invalid(message: "start must be before end") }
        query.service = parameters.string("service")
        query.limit = try parameters.integer("limit", in: 1...Self.maxLimit, default: 1000)
        if let by = parameters.string("by") {
            guard by == "operation" || by == "service" else { throw QueryParameters.Invalid(message: "by must be service or operation, got '\(by)'") }
            query.byOperation = by == "operation"
        }
        let final = query
        return try await run { try $0.goldenSignals(final) }
    }

    /// `GET /api/v1/slos/{name}`: one SLO at `at` (default now), its budget over its window and
    /// its alert history; nil when no SLO has that name.
    func slo(named name: String, _ parameters: QueryParameters) async throws -> QueryAPI.SLODetail? {
        guard let objective = store.objectives.first(where: { $0.name == name }) else { return nil }
        let now = try parameters.time("at") ?? WallClock.nowUnixNano()
        return try await run { store in
            QueryAPI.SLODetail(
                status: try store.status(of: objective, nowUnixNano: now),
                budgetHistory: try store.budgetHistory(of: objective, nowUnixNano: now),
                alertEvents: try store.alerts.events(slo: name))
        }
    }

    /// `GET /api/v1/dependencies`: calls between services over `start`…`end`, the last 24 hours
    /// unless asked: the graph reads every span of its range (within the read budget).
    func dependencies(_ parameters: QueryParameters) async throws -> QueryAPI.Dependencies {
        let end = try parameters.time("end") ?? WallClock.nowUnixNano()
        let start = try parameters.time("start") ?? (end - min(end, 86_400_000_000_000))
        guard start <= end else { throw QueryParameters.Invalid(message: "start must be before end") }
        return try await run { try $0.dependencies(from: start, to: end, budget: .standard) }
    }

    /// `GET /api/v1/slos`: every SLO's status at `at` (default now).
    func slos(_ parameters: QueryParameters) async throws -> QueryAPI.SLOList {
        let now = try parameters.time("at") ?? WallClock.nowUnixNano()
        return QueryAPI.SLOList(evaluatedAtUnixNano: now, slos: try await run { try $0.statuses(of: $0.objectives, nowUnixNano: now) })
    }

    func trace(_ text: String, limit: Int) async throws -> Response {
        guard let traceID = TraceID(hex: text) else {
            return Self.error(.badRequest, "trace ID must be 32 hex digits, got '\(text.prefix(64))'")
        }
        guard let trace = try await run({ try $0.trace(traceID, limit: limit) }) else {
            return Self.error(.notFound, "no trace with ID \(traceID.hex)")
        }
        return Response.json(trace)
    }

    func searchTraces(_ parameters: QueryParameters) async throws -> QueryAPI.TraceList {
        if let prefix = parameters.string("id_prefix") {
            guard (4...32).contains(prefix.count), prefix.allSatisfy(\.isHexDigit) else {
                throw QueryParameters.Invalid(message: "id_prefix must be 4 to 32 hex digits, got '\(prefix.prefix(64))'")
            }
            let limit = try parameters.integer("limit", in: 1...Self.maxLimit, default: 20)
            return QueryAPI.TraceList(traces: try await run { try $0.traces(withIDPrefix: prefix, limit: limit) })
        }
        var query = TraceQuery()
        query.service = parameters.string("service")
        query.operation = parameters.string("operation")
        if let kind = parameters.string("kind") {
            guard let parsed = Span.Kind.allCases.first(where: { $0.name == kind.lowercased() }) else {
                throw QueryParameters.Invalid(message: "kind must be one of server, client, producer, consumer, internal; got '\(kind)'")
            }
            query.kind = parsed
        }
        for pair in parameters.all("attr") {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw QueryParameters.Invalid(message: "attr must be key=value, got '\(pair)'")
            }
            query.attributes.append(Attribute(String(pair[..<equals]), .string(String(pair[pair.index(after: equals)...]))))
        }
        try query.checkAttributeCount()
        if let status = parameters.string("status") {
            switch status.lowercased() {
            case "error": query.status = .error
            case "ok": query.status = .ok
            case "unset": query.status = .unset
            default: throw QueryParameters.Invalid(message: "status must be error, ok or unset; got '\(status)'")
            }
        }
        query.minSpanDurationNanos = try parameters.duration("min_duration")
        query.maxSpanDurationNanos = try parameters.duration("max_duration")
        query.minTraceDurationNanos = try parameters.duration("min_trace_duration")
        query.maxTraceDurationNanos = try parameters.duration("max_trace_duration")
        query.startUnixNano = try parameters.time("start") ?? 0
        query.endUnixNano = try parameters.time("end") ?? .max
        guard query.startUnixNano <= query.endUnixNano else { throw QueryParameters.Invalid(message: "start must not be after end") }
        query.limit = try parameters.integer("limit", in: 1...Self.maxLimit, default: 20)
        let finalQuery = query
        return try await run { try $0.searchTraces(finalQuery) }
    }

    func logs(_ parameters: QueryParameters) async throws -> QueryAPI.Logs {
        var query = LogQuery()
        query.traceID = try parameters.traceID("trace_id")
        query.correlationID = parameters.string("correlation_id")
        query.service = parameters.string("service")
        if let level = parameters.string("level") {
            guard let severity = QueryParameters.severity(level) else {
                throw QueryParameters.Invalid(message: "level must be trace, debug, info, warn, error or fatal; got '\(level)'")
            }
            query.minSeverity = severity
        }
        query.contains = parameters.string("contains")
        query.startUnixNano = try parameters.time("start") ?? 0
        query.endUnixNano = try parameters.time("end") ?? .max
        guard query.startUnixNano <= query.endUnixNano else { throw QueryParameters.Invalid(message: "start must not be after end") }
        query.limit = try parameters.integer("limit", in: 1...Self.maxLimit, default: 1000)
        query.readBudget = logReadBudget
        if let order = parameters.string("order") {
            guard order == "asc" || order == "desc" else { throw QueryParameters.Invalid(message: "order must be asc or desc, got '\(order)'") }
            query.newestFirst = order == "desc"
        }
        let finalQuery = query
        return try await run { try $0.logs(finalQuery) }
    }

    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response.json(status: status, QueryAPI.ErrorBody(error: message))
    }
}
