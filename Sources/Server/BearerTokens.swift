import Foundation

/// The bearer tokens a server accepts, compared in constant time so timing does not reveal a
/// prefix. Shared by the HTTP middleware and the gRPC services.
public struct BearerTokens: Sendable {
    private let tokens: [[UInt8]]

    public init(_ tokens: [String]) {
        self.tokens = tokens.map { Array($0.utf8) }
    }

    /// Whether an `Authorization` value (`Bearer <token>`, scheme case-insensitive) names an accepted token.
    public func accept(authorization: String?) -> Bool {
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else { return false }
        let presented = Array(authorization.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces).utf8)
        var accepted = false
        for token in tokens where Self.constantTimeEquals(token, presented) { accepted = true }
        return accepted
    }

    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
