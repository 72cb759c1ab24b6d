#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

    /// Binds and closes a socket at this address, so a server that cannot listen there says so
    /// before it starts, naming `flag` (the server's own bind error names neither).
    public func checkCanListen(flag: String) throws(ConfigurationError) {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &found)
        guard status == 0, let first = found else {
            throw ConfigurationError("\(flag) \(self): cannot resolve '\(host)': \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(found) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 else { return }
        let code = errno
        let hint = switch code {
        case EADDRINUSE: ": another process listens there; stop it or pick another port"
        case EADDRNOTAVAIL: ": no interface of this host has that address; use one of its addresses, like 127.0.0.1"
        case EACCES: ": ports below 1024 need privileges; pick a higher port"
        default: ""
        }
        throw ConfigurationError("\(flag) \(self): cannot listen there (\(String(cString: strerror(code))))\(hint)")
    }
}
