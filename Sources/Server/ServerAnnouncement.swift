import Foundation
import NIOCore

/// Prints `listening on HOST:PORT` on stdout once a server is bound. With port 0 this is
/// how scripts and tests learn the port the kernel chose.
public enum ServerAnnouncement {
    /// Announces the server `channel` listens on, and records its address in `bound`.
    @Sendable public static func announce(_ name: String, channel: any Channel, bound: BoundAddress? = nil) {
        let address = channel.localAddress
        let host = address?.ipAddress ?? "?"
        let port = address?.port ?? 0
        if address != nil { bound?.bound(host: host, port: port) }
        let line = "\(name) listening on \(host.contains(":") ? "[\(host)]" : host):\(port)\n"
        write(line)
    }

    /// Writes `line` to stdout; a closed or broken stdout is ignored rather than a crash.
    public static func write(_ line: String) {
        try? FileHandle.standardOutput.write(contentsOf: Data(line.utf8))
    }
}
