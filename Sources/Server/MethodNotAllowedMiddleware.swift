import HTTPTypes
import Hummingbird

/// Answers 405 Method Not Allowed, with `Allow`, for a path that has routes but none for the
/// request's method (Hummingbird's router answers 404 for both, so `GET /v1/traces` looked like
/// a wrong URL rather than a wrong method). Add it after every route: it reads the router's routes then.
///
/// HEAD on a GET path keeps its 404 (the routers do not serve HEAD; an `Allow` without it would
/// contradict the GET it names).
public struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    private struct Route {
        var components: [RouterPath.Element]
        /// Ends in `**`: matches one or more further segments.
        var recursive: Bool
        var method: HTTPRequest.Method
    }

    private let routes: [Route]

    public init(routes: [(path: RouterPath, method: HTTPRequest.Method)]) {
        self.routes = routes.map { path, method in
            var components = path.components.filter { $0.description != "" }
            let recursive = components.last?.description == "**"
            if recursive { components.removeLast() }
            return Route(components: components, recursive: recursive, method: method)
        }
    }

    /// The middleware for `router`'s routes as they stand: routes added after it are not known to it.
    public init(for router: Router<Context>) {
        self.init(routes: router.routes.map { ($0.path, $0.method) })
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = methods(for: request.uri.path)
            guard !allowed.isEmpty, !allowed.contains(request.method), !(request.method == .head && allowed.contains(.get)) else { throw error }
            let names = allowed.map(\.rawValue).sorted()
            var response = Response.json(
                status: .methodNotAllowed, ["error": "\(request.method.rawValue) is not served at \(request.uri.path); use \(names.joined(separator: " or "))"])
            response.headers[.allow] = names.joined(separator: ", ")
            return response
        }
    }

    /// The methods routed at `path`.
    func methods(for path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var methods: [HTTPRequest.Method] = []
        for route in routes where Self.matches(route, segments) && !methods.contains(route.method) {
            methods.append(route.method)
        }
        return methods
    }

    private static func matches(_ route: Route, _ segments: [Substring]) -> Bool {
        guard route.recursive ? segments.count > route.components.count : segments.count == route.components.count else { return false }
        return zip(route.components, segments).allSatisfy { $0 ~= $1 }
    }
}
