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
        return nil
    }
}
