import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOCore
import NIOHTTP2
import PeriscopeConfig
import ServiceLifecycle
import Synchronization

/// An OTLP/gRPC server as a service of the process's group: plaintext HTTP/2 on `address`,
/// gzip and identity request compression, requests up to `maxMessageBytes` (decompressed),
/// at most `maxStreamsPerConnection` calls per connection. Announces `NAME OTLP/gRPC on
/// HOST:PORT` on stdout once bound (how tests learn a port 0).
///
/// On graceful shutdown it stops taking calls and gives those in progress `shutdownGrace`,
/// then closes whatever is left, so a silent client never holds the process (and the
/// agent's drain, which comes after it) hostage. A port that cannot be bound stops the process
/// with a message naming the flag when the address was asked for (`required`); for a default
/// address it is logged and the process goes on without gRPC.
public struct GRPCServerService: Service {
    let name: String
    let address: ListenAddress
    /// The flag that sets `address`, named in a bind failure.
    let flag: String
    let required: Bool
    let maxMessageBytes: Int
    let services: [any RegistrableRPCService]
    /// What an HTTP/1.1 client sent to this port is told (which port takes OTLP/HTTP).
    let wrongProtocolHint: @Sendable () -> String
    /// Where this server is bound, once it is; the HTTP port's hint for gRPC clients reads it.
    let bound: BoundAddress?
    let shutdownGrace: Duration
    /// How long a client's connection is served before it is asked to reconnect.
    let maxConnectionAge: Duration
    let logger: Logger

    /// Calls one connection may have open at once.
    public static let maxStreamsPerConnection = 100
    /// How long a client's connection is served, by default, before it is asked to reconnect.
    public static let maxConnectionAge = Duration.seconds(30 * 60)

    public init(
        name: String, address: ListenAddress, flag: String, required: Bool, maxMessageBytes: Int,
        services: [any RegistrableRPCService], wrongProtocolHint: @escaping @Sendable () -> String, bound: BoundAddress? = nil,
        shutdownGrace: Duration = .seconds(10), maxConnectionAge: Duration = Self.maxConnectionAge, logger: Logger
    ) {
        self.flag = flag
        self.name = name
        self.address = address
        self.required = required
        self.maxMessageBytes = maxMessageBytes
        self.services = services
        self.wrongProtocolHint = wrongProtocolHint
        self.bound = bound
        self.shutdownGrace = shutdownGrace
        self.maxConnectionAge = maxConnectionAge
        self.logger = logger
    }

    public func run() async throws {
        guard let host = Self.numericHost(address.host) else {
            throw GRPCListenError(name: name, address: address, flag: flag, reason: "the host must be an IP address (or localhost)")
        }
        var config = HTTP2ServerTransport.Posix.Config.defaults
        config.compression.enabledAlgorithms = [.gzip, .deflate]
        config.rpc.maxRequestPayloadSize = maxMessageBytes
        config.http2.maxConcurrentStreams = Self.maxStreamsPerConnection
        config.connection.maxIdleTime = .seconds(300)
        // A call answered before its client finished sending (a timed-out or an over-the-bound
        // refusal) keeps its stream, and what arrived of its message, until the client ends it;
        // a connection's age bounds how long one that never does can hold that memory. Closing
        // is graceful: calls in progress get `maxGraceTime`, new ones go to a new connection.
        config.connection.maxAge = maxConnectionAge
        config.connection.maxGraceTime = shutdownGrace
        let hint = wrongProtocolHint
        let (name, logger, defenseThrottle) = (self.name, self.logger, LogThrottle())
        config.channelDebuggingCallbacks.onAcceptTCPConnection = { channel in
            channel.eventLoop.submit {
                let pipeline = channel.pipeline.syncOperations
                try pipeline.addHandler(WrongProtocolAnswer(hint: hint()), position: .first)
                try pipeline.addHandler(HTTP2DefenseLog(server: name, logger: logger, throttle: defenseThrottle), position: .after(pipeline.handler(type: NIOHTTP2Handler.self)))
            }
        }
        let transport = HTTP2ServerTransport.Posix(
            address: host.contains(":") ? .ipv6(host: host, port: address.port) : .ipv4(host: host, port: address.port),
            transportSecurity: .plaintext, config: config)
        let server = GRPCServer(transport: transport, services: services)
        let grace = shutdownGrace
        let state = ServeState()
        let bound = self.bound
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await server.serve()
                    } catch {
                        state.failure.withLock { $0 = "\(error)" }
                        throw error
                    }
                }
                group.addTask {
                    let listening = try await transport.listeningAddress
                    state.bound.store(true, ordering: .releasing)
                    let port = listening.ipv4?.port ?? listening.ipv6?.port ?? 0
                    bound?.bound(host: host, port: port)
                    ServerAnnouncement.write("\(name) OTLP/gRPC on \(host.contains(":") ? "[\(host)]" : host):\(port)\n")
                    // Returns when graceful shutdown begins (throws if the group is cancelled first).
                    try await gracefulShutdown()
                    server.beginGracefulShutdown()
                    try await Task.sleep(for: grace)
                }
                // Whichever ends first: serving (all calls done after shutdown began, or a
                // failure), or the grace period; the other is cancelled.
                try await group.next()
                group.cancelAll()
            }
        } catch where !state.bound.load(ordering: .acquiring) && !(error is CancellationError) {
            let reason = state.failure.withLock { $0 } ?? "\(error)"
            let failure = GRPCListenError(name: name, address: address, flag: flag, reason: reason)
            guard required else {
                bound?.notServed()
                logger.warning("\(failure.description); OTLP/gRPC is not served")
                try? await gracefulShutdown()
                return
            }
            throw failure
        }
    }

    /// `host` as an IP literal NIO can bind: `localhost` is 127.0.0.1; anything else must be one.
    static func numericHost(_ host: String) -> String? {
        if host == "localhost" { return "127.0.0.1" }
        var ipv4 = in_addr()
        var ipv6 = in6_addr()
        return inet_pton(AF_INET, host, &ipv4) == 1 || inet_pton(AF_INET6, host, &ipv6) == 1 ? host : nil
    }
}

/// Whether the port was bound, and why serving failed: shared by the serving tasks.
private final class ServeState: Sendable {
    let bound = Atomic<Bool>(false)
    let failure = Mutex<String?>(nil)
}

/// The gRPC port could not be bound: says why and which flag changes it.
public struct GRPCListenError: Error, CustomStringConvertible {
    let name: String
    let address: ListenAddress
    let flag: String
    let reason: String

    public var description: String {
        "\(name) cannot listen for OTLP/gRPC on \(address): \(reason); set \(flag) to another address, or to off"
    }
}
