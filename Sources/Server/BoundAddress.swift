import PeriscopeConfig
import Synchronization

/// Where a server of this process listens: the configured address until the server is bound,
/// then the bound one (with port 0, the port the kernel chose). The protocol hints read it when
/// they answer, so a client sent to the wrong port is told the right port, not `:0`.
public final class BoundAddress: Sendable, CustomStringConvertible {
    private let address: Mutex<String>

    public init(configured: ListenAddress) {
        address = Mutex(configured.description)
    }

    /// Records the address the server is bound to.
    public func bound(host: String, port: Int) {
        let text = "\(host.contains(":") ? "[\(host)]" : host):\(port)"
        address.withLock { $0 = text }
    }

    public var description: String { address.withLock { $0 } }
}
