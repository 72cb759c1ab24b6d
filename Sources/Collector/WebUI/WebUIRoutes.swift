import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PeriscopeConfig
import PeriscopeModel
import PeriscopeQueryAPI
import PeriscopeServer

/// The web UI under `/ui`: traces, one trace's waterfall and logs, log search, the calls
/// between services, golden signals and SLOs, rendered on the server from the query API's answers. With tokens, a browser signs
/// in once with one (`POST /ui/login`) and gets an `HttpOnly`, `SameSite=Strict` session cookie;
/// every page but the sign-in form and the stylesheet needs it. Every page is sent with a strict
/// Content Security Policy (no script at all, styles only from `/ui/style.css`).
struct WebUIRoutes: Sendable {
    let queries: QueryRoutes
    /// The accepted tokens; nil when the collector's auth is turned off (then no sign-in).
    let tokens: BearerTokens?
    let sessions: WebSessions
    /// The service names the traces form offers, read at most once a minute.
    let serviceNames = ServiceNames()

    /// Bytes a sign-in form's body may have: a token, and `next` encoded again.
    static let maxLoginBody = 16_384
    /// Bytes of a page to go on to after signing in; a longer link signs in to the traces.
    static let maxNextBytes = 1_024
    /// Traces a search page lists, and log lines a log page shows, unless `limit` says otherwise.
    static let defaultTraceLimit = 50
    static let defaultLogLimit = 200
    /// Spans a waterfall page shows (the first by start time; the page says how many there are):
    /// a page is built whole in memory, about 0.5 KiB a span past `WebPages.maxDetailedSpans`.
    static let maxWaterfallSpans = 10_000
    /// Spans of each trace a comparison reads: its rows hold every call's details.
    static let maxComparedSpans = 2_000
    /// Traces or log lines one page lists at most, whatever `limit` asks.
    static let maxPageLimit = 1_000

    static let securityHeaders: [(HTTPField.Name, String)] = [
        (HTTPField.Name("Content-Security-Policy")!,
         "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        (HTTPField.Name("X-Content-Type-Options")!, "nosniff"),
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
        (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
        (.cacheControl, "no-store"),
    ]

    /// Whether a request path is the UI's own (so bearer auth leaves it to the session cookie).
    static func isUIPath(_ path: String) -> Bool {
        guard path == "/" || path == "/ui" || path.hasPrefix("/ui/") else { return false }
        return !path.split(separator: "/").contains { $0 == ".." || $0 == "." }
    }

    private var pages: WebPages { WebPages(authenticated: tokens != nil) }

    func register(on router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in Self.redirect("/ui/") }
        router.get("ui/style.css") { _, _ in
            var response = Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: WebStyle.css)))
            for (name, value) in Self.securityHeaders where name != .cacheControl { response.headers[name] = value }
            response.headers[.cacheControl] = "max-age=3600"
            return response
        }
        router.get("ui/login") { request, _ in
            let next = Self.nextPage(QueryParameters(query: request.uri.query).string("next"))
            guard tokens != nil, !signedIn(request) else { return Self.redirect(next) }
            return Self.html(pages.login(error: nil, next: next))
        }
        router.post("ui/login") { request, _ in await login(request) }
        router.post("ui/logout") { request, _ in
            if let refused = Self.refuseCrossSite(request) { return refused }
            for id in WebSessions.ids(inCookieHeader: request.headers[.cookie]) { sessions.close(id) }
            var response = Self.redirect(tokens == nil ? "/ui/" : "/ui/login")
            response.headers[.setCookie] = "\(WebSessions.cookieName)=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0"
            return response
        }
        router.get("ui") { request, _ in
            await page(request) { parameters in
                let services = await serviceNames.names(nowUnixNano: WallClock.nowUnixNano()) {
                    try await queries.run { try $0.services(limit: 1) }.map(\.name)
                }
                do {
                    let filled = try Self.since(Self.limited(parameters, default: Self.defaultTraceLimit), default: "1h")
                    let answer = try await queries.searchTraces(filled)
                    return (.ok, pages.traces(WebPages.Form(parameters.pairs), services: services, answer: answer, error: nil))
                } catch let error as QueryParameters.Invalid {
                    return (.badRequest, pages.traces(WebPages.Form(parameters.pairs), services: services, answer: nil, error: error.message))
                }
            }
        }
        router.get("ui/traces/:traceID") { request, context in
            let text = context.parameters.get("traceID") ?? ""
            return await page(request) { parameters in
                switch try await traceWithLogs(text) {
                case .refused(let status, let page): return (status, page)
                case .found(let trace, let logs): return (.ok, pages.trace(trace, logs: logs, find: parameters.string("find") ?? ""))
                }
            }
        }
        router.get("ui/traces/:traceID/spans/:spanID") { request, context in
            let text = context.parameters.get("traceID") ?? "", spanText = context.parameters.get("spanID") ?? ""
            return await page(request) { _ in
                guard let spanID = SpanID(hex: spanText) else {
                    return (.badRequest, pages.message("Not a span ID", "A span ID is 16 hex digits; got '\(spanText.prefix(64))'."))
                }
                switch try await traceWithLogs(text) {
                case .refused(let status, let page): return (status, page)
                case .found(let trace, let logs):
                    return (trace.spans.contains { $0.spanID == spanID } ? .ok : .notFound, pages.span(spanID, of: trace, logs: logs))
                }
            }
        }
        router.get("ui/compare") { request, _ in
            await page(request) { parameters in
                // Two IDs: `a` and `b` (the forms), or two `t` (the boxes ticked in a search's results).
                let chosen = [parameters.string("a"), parameters.string("b")].compactMap { $0 }
                    + parameters.pairs.filter { $0.name == "t" }.map(\.value)
                let shown = (chosen.first ?? "", chosen.dropFirst().first ?? "")
                guard chosen.count == 2 else {
                    return chosen.isEmpty
                        ? (.ok, pages.compareForm(a: "", b: "", error: nil))
                        : (.badRequest, pages.compareForm(a: String(shown.0.prefix(64)), b: String(shown.1.prefix(64)), error: "Choose two traces to compare, not \(chosen.count)."))
                }
                guard let first = TraceID(hex: chosen[0]), let second = TraceID(hex: chosen[1]) else {
                    return (.badRequest, pages.compareForm(a: String(shown.0.prefix(64)), b: String(shown.1.prefix(64)), error: "A trace ID is 32 hex digits."))
                }
                var traces: [QueryAPI.Trace] = []
                for id in [first, second] {
                    guard let trace = try await queries.run({ try $0.trace(id, limit: Self.maxComparedSpans) }) else {
                        return (.notFound, pages.noSuchTrace(id))
                    }
                    traces.append(trace)
                }
                func cut(_ trace: QueryAPI.Trace) -> Bool { (trace.totalSpans ?? 0) > trace.spans.count }
                return (.ok, pages.compare(TraceComparison(traces[0], traces[1]), cutA: cut(traces[0]), cutB: cut(traces[1])))
            }
        }
        router.get("ui/logs") { request, _ in
            await page(request) { parameters in
                let ordered = QueryParameters(pairs: parameters.pairs.filter { $0.name != "order" } + [("order", "desc")])
                do {
                    var filled = try Self.since(Self.limited(ordered, default: Self.defaultLogLimit), default: WebPages.logsDefaultSince(WebPages.Form(parameters.pairs)))
                    if parameters.string("follow") == "on" { filled = try Self.followed(filled) }
                    let answer = try await queries.logs(filled)
                    return (.ok, pages.logs(WebPages.Form(parameters.pairs), answer: answer, searchedFrom: try filled.time("start"), searchedTo: try filled.time("end"), error: nil))
                } catch let error as QueryParameters.Invalid {
                    return (.badRequest, pages.logs(WebPages.Form(parameters.pairs), answer: nil, error: error.message))
                }
            }
        }
        router.get("ui/signals") { request, _ in
            await page(request) { parameters in
                do {
                    let filled = try Self.ranged(Self.limited(parameters, default: Self.maxPageLimit), default: "1h", what: "signals")
                    return (.ok, pages.signals(WebPages.Form(parameters.pairs), answer: try await queries.signals(filled), error: nil))
                } catch let error as QueryParameters.Invalid {
                    return (.badRequest, pages.signals(WebPages.Form(parameters.pairs), answer: nil, error: error.message))
                }
            }
        }
        router.get("ui/dependencies") { request, _ in
            await page(request) { parameters in
                do {
                    let filled = try Self.ranged(parameters, default: "1h", what: "dependencies")
                    return (.ok, pages.dependencies(WebPages.Form(parameters.pairs), answer: try await queries.dependencies(filled), error: nil))
                } catch let error as QueryParameters.Invalid {
                    return (.badRequest, pages.dependencies(WebPages.Form(parameters.pairs), answer: nil, error: error.message))
                }
            }
        }
        router.get("ui/slos/:name") { request, context in
            let segment = context.parameters.get("name") ?? ""
            let name = segment.removingPercentEncoding ?? segment
            return await page(request) { parameters in
                guard let detail = try await queries.slo(named: name, parameters) else {
                    return (.notFound, pages.message("No such SLO", "No SLO is named '\(name.prefix(200))'; the SLOs page lists them."))
                }
                let at = (try? parameters.time("at")) ?? nil
                return (.ok, pages.slo(detail, traffic: await traffic(of: detail.status, at: at)))
            }
        }
        router.get("ui/slos") { request, _ in
            await page(request) { parameters in
                do {
                    return (.ok, pages.slos(try await queries.slos(parameters), form: WebPages.Form(parameters.pairs), error: nil))
                } catch let error as QueryParameters.Invalid {
                    return (.badRequest, pages.slos(nil, form: WebPages.Form(parameters.pairs), error: error.message))
                }
            }
        }
    }

    /// An SLO's service (or operation) over the SLO's window, from the golden signals; nil when
    /// it served nothing there, names no service, or the signals could not be read (the page
    /// then shows the SLO without the chart).
    private func traffic(of slo: QueryAPI.SLOStatus, at: UInt64?) async -> (row: QueryAPI.SignalRow, stepSeconds: Int)? {
        guard let service = slo.service else { return nil }
        let now = at ?? WallClock.nowUnixNano()
        let window = UInt64(clamping: slo.windowSeconds).multipliedReportingOverflow(by: 1_000_000_000)
        let start = window.overflow || window.partialValue >= now ? 0 : now - window.partialValue
        var pairs = [("service", service), ("start", String(start)), ("end", String(now))]
        if slo.operation != nil { pairs.append(("by", "operation")) }
        guard let signals = try? await queries.signals(QueryParameters(pairs: pairs)) else { return nil }
        guard let row = signals.rows.first(where: { $0.service == service && $0.operation == slo.operation }) else { return nil }
        return (row, signals.seriesStepSeconds)
    }

    /// A stored trace and its log lines, for its page and its spans' pages; or the page that says
    /// why not (not a trace ID, none stored).
    private enum TraceWithLogs {
        case found(QueryAPI.Trace, QueryAPI.Logs)
        case refused(HTTPResponse.Status, String)
    }

    private func traceWithLogs(_ text: String) async throws -> TraceWithLogs {
        guard let id = TraceID(hex: text) else {
            return .refused(.badRequest, pages.message("Not a trace ID", "A trace ID is 32 hex digits; got '\(text.prefix(64))'."))
        }
        guard let trace = try await queries.run({ try $0.trace(id, limit: Self.maxWaterfallSpans) }) else {
            return .refused(.notFound, pages.noSuchTrace(id))
        }
        return .found(trace, try await queries.logs(QueryParameters(pairs: [("trace_id", id.hex), ("limit", "1000")])))
    }

    /// A page for a signed-in browser (else the sign-in form), its store failures shown as a
    /// page with the API's status and sentence.
    private func page(
        _ request: Request, _ body: (QueryParameters) async throws -> (HTTPResponse.Status, String)
    ) async -> Response {
        guard signedIn(request) else {
            let here = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            return Self.redirect(here.utf8.count > Self.maxNextBytes ? "/ui/login" : "/ui/login?" + HTML.queryString([("next", here)]))
        }
        do {
            // A form sends its empty fields: they mean "not given", so the defaults apply.
            let given = QueryParameters(query: request.uri.query).pairs.filter { !$0.value.isEmpty }
            let (status, html) = try await body(QueryParameters(pairs: given))
            return Self.html(html, status: status)
        } catch let error as QueryParameters.Invalid {
            return Self.html(pages.message("Cannot search", error.message), status: .badRequest)
        } catch {
            let failure = queries.storeFailure(error, request: request)
            var response = Self.html(pages.message("The store could not answer", failure.message), status: failure.status)
            if let retryAfter = failure.retryAfterSeconds { response.headers[.retryAfter] = String(retryAfter) }
            return response
        }
    }

    private func signedIn(_ request: Request) -> Bool {
        guard tokens != nil else { return true }
        let now = WallClock.nowUnixNano()
        return WebSessions.ids(inCookieHeader: request.headers[.cookie]).contains { sessions.isValid($0, nowUnixNano: now) }
    }

    private func login(_ request: Request) async -> Response {
        guard let tokens else { return Self.redirect("/ui/") }
        if let refused = Self.refuseCrossSite(request) { return refused }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxLoginBody)
        } catch {
            return Self.html(pages.login(error: "The form was larger than \(Self.maxLoginBody) bytes."), status: .contentTooLarge)
        }
        let form = QueryParameters(query: String(buffer: body))
        let next = Self.nextPage(form.string("next"))
        let token = form.string("token") ?? ""
        guard !token.isEmpty, tokens.accept(authorization: "Bearer " + token) else {
            return Self.html(pages.login(error: "The collector does not accept that token.", next: next), status: .unauthorized)
        }
        let id = sessions.open(nowUnixNano: WallClock.nowUnixNano())
        var response = Self.redirect(next)
        response.headers[.setCookie] =
            "\(WebSessions.cookieName)=\(id); Path=/ui; HttpOnly; SameSite=Strict; Max-Age=\(sessions.lifetimeNanos / 1_000_000_000)"
        return response
    }

    /// Where to go after signing in: a page of the UI (the one that asked for it), else the traces.
    /// Only a path under `/ui/`, so a crafted link cannot send the browser elsewhere.
    static func nextPage(_ text: String?) -> String {
        guard let text, text.utf8.count <= maxNextBytes, text.hasPrefix("/ui/") || text == "/ui", !text.contains("\\"), !text.contains("//"),
              text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }),
              case let path = String(text.prefix { $0 != "?" }), !path.contains("%"), isUIPath(path)
        else { return "/ui/" }
        return text
    }

    /// A sign-in or sign-out that another site's page sent (`Sec-Fetch-Site`, which browsers
    /// set and pages cannot) is refused, so no site can sign a browser in or out. Browsers send
    /// it over HTTPS and to localhost; over plain HTTP elsewhere there is nothing to check.
    static func refuseCrossSite(_ request: Request) -> Response? {
        guard let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin", site != "none" else { return nil }
        return html(WebPages(authenticated: false).message("Refused", "A sign-in or sign-out must come from the collector's own pages."), status: .forbidden)
    }

    /// A followed log search runs every few seconds, so it reads the last `maxFollowedNanos` at
    /// most, and to now: a search over all time, left open in a tab, would read the whole store
    /// each time.
    static func followed(_ parameters: QueryParameters) throws(QueryParameters.Invalid) -> QueryParameters {
        let now = WallClock.nowUnixNano()
        let earliest = now > maxFollowedNanos ? now - maxFollowedNanos : 0
        let start = max(try parameters.time("start") ?? 0, earliest)
        return QueryParameters(pairs: parameters.pairs.filter { $0.name != "start" && $0.name != "end" } + [("start", String(start))])
    }

    /// How far back a followed log search reads.
    static let maxFollowedNanos: UInt64 = 3_600_000_000_000

    /// `limit` at most `maxPageLimit`, `fallback` when not given.
    static func limited(_ parameters: QueryParameters, default fallback: Int) -> QueryParameters {
        let asked = parameters.string("limit").flatMap { Int($0) }
        guard parameters.string("limit") == nil || asked != nil else { return parameters }  // the API's own error says what is wrong
        let limit = min(asked ?? fallback, maxPageLimit)
        return QueryParameters(pairs: parameters.pairs.filter { $0.name != "limit" } + [("limit", String(limit))])
    }

    /// `since` as `since(_:default:)` reads it, refusing `all` with the sentence that says why:
    /// a page of `what` (signals, dependencies) is a summary of a time range.
    static func ranged(_ parameters: QueryParameters, default fallback: String, what: String) throws(QueryParameters.Invalid) -> QueryParameters {
        guard parameters.string("since") != "all" || parameters.string("start") != nil else {
            throw QueryParameters.Invalid(message: "\(what) need a time range: since must be a duration such as 1h")
        }
        return try since(parameters, default: fallback)
    }

    /// `since=1h` (one of the forms' ages, or any duration) as `start`, unless `start` is given;
    /// `since=all` leaves the start open.
    static func since(_ parameters: QueryParameters, default fallback: String) throws(QueryParameters.Invalid) -> QueryParameters {
        guard parameters.string("start") == nil else { return parameters }
        let text = parameters.string("since") ?? fallback
        if text == "all" { return parameters }
        guard let age = DurationText.nanos(text), age <= QueryParameters.latestTime else {
            throw QueryParameters.Invalid(message: "since must be a duration such as 15m, 1h or 7d, got '\(text.prefix(64))'")
        }
        let now = WallClock.nowUnixNano()
        return QueryParameters(pairs: parameters.pairs + [("start", String(now > age ? now - age : 0))])
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var response = Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
        for (name, value) in securityHeaders { response.headers[name] = value }
        return response
    }

    static func redirect(_ location: String) -> Response {
        var response = Response(status: .seeOther, headers: [.location: location])
        for (name, value) in securityHeaders { response.headers[name] = value }
        return response
    }
}
