/// A `HOST:PORT` pair from a flag or a config file (`127.0.0.1:4318`, `[::1]:4318`, `:4400`).
public struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`; an empty host means all interfaces (`0.0.0.0`). Port 0 picks a free port.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.init(host: host.isEmpty ? "0.0.0.0" : host, port: port)
    }

    /// `HOST:PORT`, or `nil` for `off` (a listener turned off); throws naming `flag` otherwise.
    public static func optional(_ text: String, flag: String) throws(ConfigurationError) -> ListenAddress? {
        if text.lowercased() == "off" { return nil }
        guard let address = ListenAddress(text) else { throw ConfigurationError("\(flag) must be HOST:PORT or off, got '\(text)'") }
        return address
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
