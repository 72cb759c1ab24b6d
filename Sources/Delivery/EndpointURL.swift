import Foundation

/// The check every URL Periscope sends to passes first (the SDK's agent endpoint, the agent's
/// collector URLs, the CLI's collector): `http` or `https`, a host, and a port that is one. A
/// port past 65535 passed `URLComponents` and then trapped in the HTTP client when the first
/// request was made, killing the process that made it (an instrumented service, the agent).
public enum EndpointURL {
    /// Why `text` is no URL to send to, in words for an error message; nil when it is one.
    public static func problem(_ text: String) -> String? {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https"
        else { return "not an http:// or https:// URL" }
        guard let host = components.host, !host.isEmpty else { return "no host" }
        if let port = components.port, !(1...65535).contains(port) { return "port \(port) is not between 1 and 65535" }
        // A port too large for an `Int` leaves `port` nil, and the client would send to the scheme's port.
        if components.port == nil, let written = writtenPort(text) { return "port \(written) is not between 1 and 65535" }
        return nil
    }

    /// `text` as a log line, an error or a CI log may show it: with `hidingUser` (the user may
    /// be a token) the user and password become one `***`, otherwise the password alone does,
    /// and a query string becomes `***`. Text that is no URL with a host (`user:secret@host`
    /// without its scheme reads as scheme `user`) shows `***` for everything before its last `@`.
    public static func redacted(_ text: String, hidingUser: Bool = true) -> String {
        guard var components = URLComponents(string: text), components.host != nil else {
            // By bytes: an `@` a combining mark follows is no `Character` "@".
            guard let at = text.utf8.lastIndex(of: UInt8(ascii: "@")) else { return text }
            return "***" + String(decoding: text.utf8[at...], as: UTF8.self)
        }
        if hidingUser, components.user != nil || components.password != nil {
            components.user = "***"
            components.password = nil
        } else if components.password != nil {
            components.password = "***"
        }
        // A query string may carry one too (`?password=…`).
        if components.query != nil { components.query = "***" }
        return components.string ?? "(a URL)"
    }

    /// The digits after the authority's last `:` (after an IPv6 literal's `]`), when there are any.
    private static func writtenPort(_ text: String) -> Substring? {
        guard let schemeEnd = text.range(of: "://") else { return nil }
        let rest = text[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostAndPort = authority.split(separator: "@").last ?? authority[...]
        guard let colon = hostAndPort.lastIndex(of: ":"), !hostAndPort[colon...].contains("]") else { return nil }
        let digits = hostAndPort[hostAndPort.index(after: colon)...]
        return digits.isEmpty ? nil : digits
    }
}
