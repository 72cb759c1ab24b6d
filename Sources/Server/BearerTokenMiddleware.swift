import Foundation
import HTTPTypes
import Hummingbird

/// Requires `Authorization: Bearer <token>` with one of the accepted tokens; 401 otherwise,
/// before the request body is read, so a refused request changes nothing.
public struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: Set<[UInt8]>
    let exemptPaths: Set<String>

    public init(tokens: [String], exemptPaths: Set<String> = ["/healthz"]) {
        self.tokens = Set(tokens.map { Array($0.utf8) })
        self.exemptPaths = exemptPaths
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if exemptPaths.contains(request.uri.path) { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            return Self.unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
        }
        let presented = Array(header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces).utf8)
        // Compare against every token without an early exit, so timing does not reveal a prefix.
        var accepted = false
        for token in tokens where Self.constantTimeEquals(token, presented) { accepted = true }
        guard accepted else { return Self.unauthorized("invalid bearer token") }
        return try await next(request, context)
    }

    static func unauthorized(_ message: String) -> Response {
        var response = Response.json(status: .unauthorized, ["error": message])
        response.headers[.wwwAuthenticate] = "Bearer"
        return response
    }

    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
