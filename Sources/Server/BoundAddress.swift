import PeriscopeConfig
import Synchronization

/// Where a server of this process listens: the configured address until the server is bound,
/// then the bound one (with port 0, the port the kernel chose). The protocol hints read it when
/// they answer, so a client sent to the wrong port is told the right port, not `:0`.
public final class BoundAddress: Sendable, CustomStringConvertible {
    private let state: Mutex<(address: String, serving: Bool)>

    public init(configured: ListenAddress) {
        state = Mutex((configured.description, true))
    }

    /// Records the address the server is bound to.
    public func bound(host: String, port: Int) {
        let text = ListenAddress(host: host, port: port).description
        state.withLock { $0.address = text }
    }

    /// Records that the server is not running (its default port was taken), so no hint sends a
    /// client to a port that something else holds.
    public func notServed() {
        state.withLock { $0.serving = false }
    }

    /// Whether the server is running (or still starting).
    public var isServing: Bool { state.withLock { $0.serving } }

    public var description: String { state.withLock { $0.address } }
}
