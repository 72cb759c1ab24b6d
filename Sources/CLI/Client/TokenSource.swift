import Foundation
import PeriscopeConfig

/// Where the bearer token comes from: `--token-file FILE`, else `$PERISCOPE_TOKEN`.
enum TokenSource {
    /// The token to send, or `nil` for none. Throws a `QueryError` when a named file cannot
    /// be read or holds no token.
    static func resolve(tokenFile: String?, environment: [String: String]) throws -> String? {
        if let path = tokenFile {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw QueryError("cannot read the token file \(path): \(reason(error))")
            }
            guard let token = TokenFile.parse(String(decoding: data, as: UTF8.self)).first else {
                throw QueryError("the token file \(path) holds no token (blank lines and # comments are skipped)")
            }
            return token
        }
        if let token = environment["PERISCOPE_TOKEN"].map({ String($0.trimmingSpaces) }), !token.isEmpty {
            return token
        }
        return nil
    }

    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
           let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return POSIXError(code).localizedDescription.lowercased()
        }
        switch nsError.code {
        case NSFileReadNoSuchFileError: return "no such file"
        case NSFileReadNoPermissionError: return "permission denied"
        default: return nsError.localizedDescription
        }
    }
}
