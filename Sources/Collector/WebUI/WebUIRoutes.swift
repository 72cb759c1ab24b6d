import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PeriscopeConfig
import PeriscopeModel
import PeriscopeQueryAPI
import PeriscopeServer

/// The web UI under `/ui`: traces, one trace's waterfall and logs, log search, golden signals
/// and SLOs, rendered on the server from the query API's answers. With tokens, a browser signs
/// in once with one (`POST /ui/login`) and gets an `HttpOnly`, `SameSite=Strict` session cookie;
/// every page but the sign-in form and the stylesheet needs it. Every page is sent with a strict
/// Content Security Policy (no script at all, styles only from `/ui/style.css`).
struct WebUIRoutes: Sendable {
    let queries: QueryRoutes
    /// The accepted tokens; nil when the collector's auth is turned off (then no sign-in).
    let tokens: BearerTokens?
    let sessions: WebSessions

    /// Bytes a sign-in form's body may have.
    static let maxLoginBody = 4_096
    /// Traces a search page lists, and log lines a log page shows, unless `limit` says otherwise.
    static let defaultTraceLimit = 50
    static let defaultLogLimit = 200

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
            guard tokens != nil, !signedIn(request) else { return Self.redirect("/ui/") }
            return Self.html(pages.login(error: nil))
        }
        router.post("ui/login") { request, _ in await login(request) }
        router.post("ui/logout") { request, _ in
            if let id = WebSessions.id(inCookieHeader: request.headers[.cookie]) { sessions.close(id) }
            var response = Self.redirect(tokens == nil ? "/ui/" : "/ui/login")
            response.headers[.setCookie] = "\(WebSessions.cookieName)=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0"
            return response
        }
        router.get("ui") { request, _ in
            await page(request) { parameters in
                var pairs = parameters.pairs
                if parameters.string("limit") == nil { pairs.append(("limit", String(Self.defaultTraceLimit))) }
                let services = try await queries.run { try $0.services(limit: 1) }.map(\.name)
                do {
                    let filled = try Self.since(QueryParameters(pairs: pairs), default: "1h")
                    let answer = try await queries.searchTraces(filled)
                    return (.ok, pages.traces(WebPages.Form(parameters.pairs), services: services, answer: answer, error: nil))
                } catch let error as QueryParameters.Invalid {
                    return (.badRequest, pages.traces(WebPages.Form(parameters.pairs), services: services, answer: nil, error: error.message))
                }
            }
        }
        router.get("ui/traces/:traceID") { request, context in
            let text = context.parameters.get("traceID") ?? ""
            return await page(request) { _ in
                guard let id = TraceID(hex: text) else {
                    return (.badRequest, pages.message("Not a trace ID", "A trace ID is 32 hex digits; got '\(text.prefix(64))'."))
                }
                guard let trace = try await queries.run({ try $0.trace(id, limit: QueryRoutes.maxTraceSpans / 2) }) else {
                    return (.notFound, pages.message("No such trace", "No trace with ID \(id.hex) is stored (it may have expired, or not arrived yet)."))
                }
                var query = LogQuery()
                query.traceID = id
                query.limit = 1_000
                query.readBudget = queries.logReadBudget
                let logs = try await queries.run { [query] in try $0.logs(query) }
                return (.ok, pages.trace(trace, logs: logs))
            }
        }
        router.get("ui/logs") { request, _ in
            await page(request) { parameters in
                var pairs = parameters.pairs.filter { $0.name != "order" }
                pairs.append(("order", "desc"))
                if parameters.string("limit") == nil { pairs.append(("limit", String(Self.defaultLogLimit))) }
                do {
                    let filled = try Self.since(QueryParameters(pairs: pairs), default: WebPages.logsDefaultSince(WebPages.Form(parameters.pairs)))
                    return (.ok, pages.logs(WebPages.Form(parameters.pairs), answer: try await queries.logs(filled), error: nil))
                } catch let error as QueryParameters.Invalid {
                    return (.badRequest, pages.logs(WebPages.Form(parameters.pairs), answer: nil, error: error.message))
                }
            }
        }
        router.get("ui/signals") { request, _ in
            await page(request) { parameters in
                do {
                    guard parameters.string("since") != "all" else { throw QueryParameters.Invalid(message: "signals need a time range: since must be a duration such as 1h") }
                    let filled = try Self.since(parameters, default: "1h")
                    return (.ok, pages.signals(WebPages.Form(parameters.pairs), answer: try await queries.signals(filled), error: nil))
                } catch let error as QueryParameters.Invalid {
                    return (.badRequest, pages.signals(WebPages.Form(parameters.pairs), answer: nil, error: error.message))
                }
            }
        }
        router.get("ui/slos") { request, _ in
            await page(request) { parameters in
                do {
                    return (.ok, pages.slos(try await queries.slos(parameters), error: nil))
                } catch let error as QueryParameters.Invalid {
                    return (.badRequest, pages.slos(nil, error: error.message))
                }
            }
        }
    }

    /// A page for a signed-in browser (else the sign-in form), its store failures shown as a
    /// page with the API's status and sentence.
    private func page(
        _ request: Request, _ body: (QueryParameters) async throws -> (HTTPResponse.Status, String)
    ) async -> Response {
        guard signedIn(request) else { return Self.redirect("/ui/login") }
        do {
            let (status, html) = try await body(QueryParameters(query: request.uri.query))
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
        guard let id = WebSessions.id(inCookieHeader: request.headers[.cookie]) else { return false }
        return sessions.isValid(id, nowUnixNano: WallClock.nowUnixNano())
    }

    private func login(_ request: Request) async -> Response {
        guard let tokens else { return Self.redirect("/ui/") }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxLoginBody)
        } catch {
            return Self.html(pages.login(error: "The form was larger than \(Self.maxLoginBody) bytes."), status: .contentTooLarge)
        }
        let token = QueryParameters(query: String(buffer: body)).string("token") ?? ""
        guard !token.isEmpty, tokens.accept(authorization: "Bearer " + token) else {
            return Self.html(pages.login(error: "The collector does not accept that token."), status: .unauthorized)
        }
        let id = sessions.open(nowUnixNano: WallClock.nowUnixNano())
        var response = Self.redirect("/ui/")
        response.headers[.setCookie] =
            "\(WebSessions.cookieName)=\(id); Path=/ui; HttpOnly; SameSite=Strict; Max-Age=\(sessions.lifetimeNanos / 1_000_000_000)"
        return response
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
