import HTTPTypes
import Hummingbird

/// Answers 405 Method Not Allowed, with `Allow`, for a path that has routes but none for the
/// request's method (Hummingbird's router answers 404 for both, so `GET /v1/traces` looked like
/// a wrong URL rather than a wrong method). Add it after every route: it reads the router's routes then.
public struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    private let routes: [(path: RouterPath, method: HTTPRequest.Method)]

    public init(routes: [(path: RouterPath, method: HTTPRequest.Method)]) {
        self.routes = routes
    }

    /// The middleware for `router`'s routes as they stand.
    public init(for router: Router<Context>) {
        self.init(routes: router.routes.map { ($0.path, $0.method) })
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = methods(for: request.uri.path)
            guard !allowed.isEmpty, !allowed.contains(request.method) else { throw error }
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
        for route in routes where Self.matches(route.path, segments) && !methods.contains(route.method) {
            methods.append(route.method)
        }
        return methods
    }

    private static func matches(_ path: RouterPath, _ segments: [Substring]) -> Bool {
        let components = path.components.filter { $0.description != "" }
        if let last = components.last, last.description == "**" {
            guard segments.count >= components.count - 1 else { return false }
            return zip(components.dropLast(), segments).allSatisfy { $0 ~= $1 }
        }
        return components.count == segments.count && zip(components, segments).allSatisfy { $0 ~= $1 }
    }
}
