import Foundation
import HTTPTypes
import Hummingbird
import PeriscopeModel
import PeriscopeQueryAPI
import PeriscopeServer

/// Jaeger's HTTP query API under `/jaeger/api/…`, so the Jaeger UI or Grafana's Jaeger data
/// source (URL `http://collector:4400/jaeger`, header `Authorization: Bearer …`) browse the
/// collector's traces: services, operations, trace search, a trace, the dependency graph.
/// Behind the same bearer token as everything else; answers in `JaegerDocuments`.
struct JaegerRoutes: Sendable {
    let queries: QueryRoutes

    /// Full traces one search answers at most, and spans each of them carries.
    static let maxTraces = 200
    static let maxSpansPerSearchedTrace = 10_000
    /// Spans one search reads at most, all its traces together (a trace is read whole, then
    /// cut): later traces are left out. A single trace larger than that is still read once.
    static let maxSpansPerSearch = 100_000
    /// A search without `start` looks this far back (Jaeger's own default lookback).
    static let defaultLookbackNanos: UInt64 = 3_600_000_000_000

    func register(on router: Router<BasicRequestContext>) {
        let api = router.group("jaeger/api")
        api.get("services") { request, _ in
            await answer(request) {
                // Services that only sent logs or metrics have no operations: Jaeger lists those with spans.
                let services = try await queries.run { try $0.services(limit: 1) }.filter { !$0.operations.isEmpty }.map(\.name).sorted()
                return JaegerDocuments.Envelope(services, total: services.count)
            }
        }
        api.get("services/:service/operations") { request, context in
            let segment = try context.parameters.require("service")
            let service = segment.removingPercentEncoding ?? segment
            return await answer(request) {
                let names = Array(Set(try await operations(of: service).map(\.name))).sorted()
                return JaegerDocuments.Envelope(names, total: names.count)
            }
        }
        api.get("operations") { request, _ in
            await answer(request) {
                let parameters = QueryParameters(query: request.uri.query)
                guard let service = parameters.string("service") else { throw QueryParameters.Invalid(message: "give service=<name>") }
                let kind = parameters.string("spanKind")
                let operations = try await operations(of: service)
                    .filter { kind == nil || $0.kind == kind }
                    .map { JaegerDocuments.Operation(name: $0.name, spanKind: $0.kind == "unspecified" ? "" : $0.kind) }
                return JaegerDocuments.Envelope(operations, total: operations.count)
            }
        }
        api.get("traces/:traceID") { request, context in
            let text = try context.parameters.require("traceID")
            return await answer(request) {
                guard let id = Self.traceID(text) else {
                    throw QueryParameters.Invalid(message: "trace ID must be 1 to 32 hex digits, got '\(text.prefix(64))'")
                }
                guard let trace = try await queries.run({ try $0.trace(id, limit: 50_000) }) else { throw NotFound() }
                return JaegerDocuments.Envelope([JaegerDocuments.trace(trace)], total: 1)
            }
        }
        api.get("traces") { request, _ in
            await answer(request) {
                let parameters = QueryParameters(query: request.uri.query)
                let asked = try Self.traceIDs(parameters)
                let query = asked.isEmpty ? try Self.search(parameters, nowUnixNano: WallClock.nowUnixNano()) : nil
                let traces = try await queries.run { store in
                    // Reading a trace reads all of its spans, however many are answered: the
                    // budget counts what the search reads, so one search stays bounded work.
                    var traces = [JaegerDocuments.Trace]()
                    var spansLeft = Self.maxSpansPerSearch
                    let found = try query.map { try store.searchTraces($0).traces.map { ($0.traceID, $0.spanCount) } } ?? asked.map { ($0, 0) }
                    for (id, spanCount) in found where spansLeft > 0 {
                        guard let trace = try store.trace(id, limit: min(Self.maxSpansPerSearchedTrace, spansLeft)) else { continue }
                        spansLeft -= max(spanCount, trace.totalSpans ?? trace.spans.count)
                        traces.append(JaegerDocuments.trace(trace))
                    }
                    return traces
                }
                return JaegerDocuments.Envelope(traces, total: traces.count)
            }
        }
        api.get("dependencies") { request, _ in
            await answer(request) {
                let parameters = QueryParameters(query: request.uri.query)
                let now = WallClock.nowUnixNano() / 1_000_000
                let end = try Self.number("endTs", parameters, scale: 1_000_000) ?? now * 1_000_000
                let lookback = try Self.number("lookback", parameters, scale: 1_000_000) ?? 86_400_000_000_000
                let start = end > lookback ? end - lookback : 0
                let edges = try await queries.run { try $0.dependencies(from: start, to: end, budget: .standard) }.edges
                    .map { JaegerDocuments.Dependency(parent: $0.caller, child: $0.callee, callCount: $0.calls) }
                return JaegerDocuments.Envelope(edges, total: edges.count)
            }
        }
    }

    private struct NotFound: Error {}

    private func operations(of service: String) async throws -> [QueryAPI.Operation] {
        try await queries.run { try $0.services(limit: 10_000) }.first { $0.name == service }?.operations ?? []
    }

    /// Jaeger's answer for each outcome: 400 naming the parameter, 404, or the store's failure.
    private func answer<Payload: Encodable & Sendable>(
        _ request: Request, _ body: () async throws -> JaegerDocuments.Envelope<Payload>
    ) async -> Response {
        do {
            return Response.json(try await body())
        } catch let invalid as QueryParameters.Invalid {
            return Response.json(status: .badRequest, JaegerDocuments.Envelope<[String]>(failure: .init(code: 400, msg: invalid.message)))
        } catch is NotFound {
            return Response.json(status: .notFound, JaegerDocuments.Envelope<[String]>(failure: .init(code: 404, msg: "trace not found")))
        } catch {
            let failed = queries.storeFailed(error, request: request)
            var response = Response.json(
                status: failed.status, JaegerDocuments.Envelope<[String]>(failure: .init(code: failed.status.code, msg: "the store failed to answer: \(error)")))
            response.headers[.retryAfter] = failed.headers[.retryAfter]
            return response
        }
    }

    /// `traceID=` (repeatable, at most `maxTraces`): those traces, whatever else is asked, as Jaeger does.
    static func traceIDs(_ parameters: QueryParameters) throws(QueryParameters.Invalid) -> [TraceID] {
        var ids = [TraceID]()
        for text in parameters.all("traceID").prefix(maxTraces) {
            guard let id = traceID(text) else { throw QueryParameters.Invalid(message: "traceID must be 1 to 32 hex digits, got '\(text.prefix(64))'") }
            if !ids.contains(id) { ids.append(id) }
        }
        return ids
    }

    /// A trace ID as Jaeger sends it: hex, leading zeros possibly dropped (a 64-bit ID).
    static func traceID(_ text: String) -> TraceID? {
        guard (1...32).contains(text.utf8.count), text.allSatisfy(\.isHexDigit) else { return nil }
        return TraceID(hex: String(repeating: "0", count: 32 - text.utf8.count) + text)
    }

    /// A whole number of microseconds (or milliseconds: `scale`) as nanoseconds, within the
    /// times a query may name.
    static func number(_ name: String, _ parameters: QueryParameters, scale: UInt64) throws(QueryParameters.Invalid) -> UInt64? {
        guard let text = parameters.string(name) else { return nil }
        let unit = scale == 1_000 ? "microseconds" : "milliseconds"
        guard let value = UInt64(text) else { throw QueryParameters.Invalid(message: "\(name) must be Unix \(unit), got '\(text.prefix(64))'") }
        let (nanos, overflow) = value.multipliedReportingOverflow(by: scale)
        guard !overflow, nanos <= QueryParameters.latestTime else {
            throw QueryParameters.Invalid(message: "\(name) must be at most \(QueryParameters.latestTime / scale) \(unit), got '\(text.prefix(64))'")
        }
        return nanos
    }

    /// Jaeger's search parameters as the store's query: `service`, `operation`, `tags` (a JSON
    /// object) or `tag=key:value` (repeatable), `start`/`end` (Unix µs; the last hour without
    /// `start`), `minDuration`/`maxDuration` (a span's, `1.2s`, `500ms`, `100us`), `limit`.
    /// The tags `error=true`, `span.kind=…` and `otel.status_code=ERROR|OK` select status and kind.
    static func search(_ parameters: QueryParameters, nowUnixNano: UInt64) throws(QueryParameters.Invalid) -> TraceQuery {
        var query = TraceQuery()
        query.service = parameters.string("service")
        query.operation = parameters.string("operation").flatMap { $0 == "all" ? nil : $0 }
        var tags = [(String, String)]()
        for json in parameters.all("tags") where !json.isEmpty {
            // Jaeger takes strings only: `{"error":true}` is refused there too.
            guard let object = try? JSONDecoder().decode([String: String].self, from: Data(json.utf8)) else {
                throw QueryParameters.Invalid(message: "tags must be a JSON object of strings, like {\"http.status_code\":\"500\"}, got '\(json.prefix(64))'")
            }
            tags += object.sorted { $0.key < $1.key }
        }
        for pair in parameters.all("tag") {
            guard let colon = pair.firstIndex(of: ":"), colon != pair.startIndex else {
                throw QueryParameters.Invalid(message: "tag must be key:value, got '\(pair.prefix(64))'")
            }
            tags.append((String(pair[..<colon]), String(pair[pair.index(after: colon)...])))
        }
        for (key, value) in tags {
            switch (key, value.lowercased()) {
            case ("error", "true"), ("otel.status_code", "error"): query.status = .error
            case ("otel.status_code", "ok"): query.status = .ok
            case ("span.kind", let kind):
                guard let parsed = Span.Kind.allCases.first(where: { $0.name == kind }) else {
                    throw QueryParameters.Invalid(message: "span.kind must be server, client, producer, consumer or internal; got '\(value.prefix(64))'")
                }
                query.kind = parsed
            default: query.attributes.append(Attribute(key, .string(value)))
            }
        }
        try query.checkAttributeCount()
        query.minSpanDurationNanos = try parameters.duration("minDuration")
        query.maxSpanDurationNanos = try parameters.duration("maxDuration")
        if let least = query.minSpanDurationNanos, let most = query.maxSpanDurationNanos, most < least {
            throw QueryParameters.Invalid(message: "maxDuration must not be less than minDuration")
        }
        query.endUnixNano = try number("end", parameters, scale: 1_000) ?? min(nowUnixNano, QueryParameters.latestTime)
        query.startUnixNano = try number("start", parameters, scale: 1_000)
            ?? (query.endUnixNano > defaultLookbackNanos ? query.endUnixNano - defaultLookbackNanos : 0)
        guard query.startUnixNano <= query.endUnixNano else { throw QueryParameters.Invalid(message: "start must not be after end") }
        // Jaeger takes any limit; past what one answer holds it is cut, and 0 or none is the default.
        guard let limit = parameters.string("limit").map({ Int($0) }) ?? 20 else {
            throw QueryParameters.Invalid(message: "limit must be a whole number, got '\(parameters.string("limit")?.prefix(64) ?? "")'")
        }
        query.limit = limit <= 0 ? 20 : min(limit, maxTraces)
        return query
    }
}
