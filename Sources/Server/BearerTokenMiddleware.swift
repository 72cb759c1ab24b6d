import Foundation
import HTTPTypes
import Hummingbird

/// Requires `Authorization: Bearer <token>` with one of the accepted tokens; 401 otherwise,
/// before the request body is read, so a refused request changes nothing.
public struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: BearerTokens
    /// Paths that need no token (health checks; pages that check a session of their own).
    let exempt: @Sendable (String) -> Bool

    public init(tokens: [String], exemptPaths: Set<String> = ["/healthz"]) {
        self.init(tokens: tokens, exempt: { exemptPaths.contains($0) })
    }

    public init(tokens: [String], exempt: @escaping @Sendable (String) -> Bool) {
        self.tokens = BearerTokens(tokens)
        self.exempt = exempt
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if exempt(request.uri.path) { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            return Self.unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
        }
        guard tokens.accept(authorization: header) else { return Self.unauthorized("invalid bearer token") }
        return try await next(request, context)
    }

    static func unauthorized(_ message: String) -> Response {
        var response = Response.json(status: .unauthorized, ["error": message])
        response.headers[.wwwAuthenticate] = "Bearer"
        return response
    }
}
