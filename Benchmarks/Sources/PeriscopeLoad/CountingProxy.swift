import PeriscopeBenchKit
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP relay between the agent and the collector that counts the bytes the agent
/// sends: the honest "bytes on the wire" (zstd bodies plus HTTP framing) per stored item.
///
/// Blocking sockets and one thread per direction keep it simple; the agent opens a handful of
/// connections. Only 127.0.0.1 is ever bound or dialled.
final class CountingProxy: Sendable {
    /// The port the agent should be pointed at.
    let port: Int
    private let upstreamPort: Int
    private let listener: Int32
    private let sentUpstream = Atomic<Int>(0)

    /// Bytes relayed from clients (the agent) to the upstream (the collector) so far.
    var bytesUpstream: Int { sentUpstream.load(ordering: .relaxed) }

    /// Listens on a free loopback port and relays every connection to `upstreamPort`.
    init(upstreamPort: Int) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard descriptor >= 0, bound == 0, listen(descriptor, 64) == 0 else {
            if descriptor >= 0 { Glibc.close(descriptor) }
            throw ManagedProcess.LaunchError(description: "proxy: cannot listen on 127.0.0.1 (errno \(errno))")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.upstreamPort = upstreamPort
        self.listener = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// Stops accepting; relays in progress end when either side closes.
    func close() {
        shutdown(listener, Int32(SHUT_RDWR))
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: upstreamPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                Glibc.close(client)
                Glibc.close(upstream)
                continue
            }
            let pair = SocketPair(client: client, upstream: upstream)
            Thread { [self] in relay(from: client, to: upstream, counted: true, pair: pair) }.start()
            Thread { [self] in relay(from: upstream, to: client, counted: false, pair: pair) }.start()
        }
    }

    /// Copies until end of stream or error, then half-closes the destination.
    private func relay(from source: Int32, to destination: Int32, counted: Bool, pair: SocketPair) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        copying: while true {
            let received = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            if received <= 0 { break }
            if counted { sentUpstream.add(received, ordering: .relaxed) }
            var offset = 0
            while offset < received {
                let written = buffer.withUnsafeBytes { send(destination, $0.baseAddress! + offset, received - offset, Int32(MSG_NOSIGNAL)) }
                if written <= 0 { break copying }
                offset += written
            }
        }
        shutdown(destination, Int32(SHUT_WR))
        shutdown(source, Int32(SHUT_RD))
        pair.finishOne()
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// The two sockets of one relayed connection, closed once both directions have finished, so
/// neither relay thread can touch a descriptor number the system has already reused.
private final class SocketPair: Sendable {
    let client: Int32
    let upstream: Int32
    private let finished = Atomic<Int>(0)

    init(client: Int32, upstream: Int32) {
        self.client = client
        self.upstream = upstream
    }

    /// Called by each direction when it ends; the second call closes both sockets.
    func finishOne() {
        if finished.add(1, ordering: .acquiringAndReleasing).newValue == 2 {
            Glibc.close(client)
            Glibc.close(upstream)
        }
    }
}
