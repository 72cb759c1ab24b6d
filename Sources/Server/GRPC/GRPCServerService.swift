import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import PeriscopeConfig
import ServiceLifecycle

/// An OTLP/gRPC server as a service of the process's group: plaintext HTTP/2 on `address`,
/// gzip and identity request compression, requests up to `maxMessageBytes` (decompressed).
/// Announces `NAME OTLP/gRPC on HOST:PORT` on stdout once bound (how tests learn a port 0),
/// and stops taking new calls on graceful shutdown, finishing those in progress.
public struct GRPCServerService: Service {
    let name: String
    let address: ListenAddress
    let maxMessageBytes: Int
    let services: [any RegistrableRPCService]
    let logger: Logger

    /// What an HTTP/1.1 client sent to this port is told (which port takes OTLP/HTTP).
    let wrongProtocolHint: String

    public init(
        name: String, address: ListenAddress, maxMessageBytes: Int, services: [any RegistrableRPCService],
        wrongProtocolHint: String, logger: Logger
    ) {
        self.wrongProtocolHint = wrongProtocolHint
        self.name = name
        self.address = address
        self.maxMessageBytes = maxMessageBytes
        self.services = services
        self.logger = logger
    }

    public func run() async throws {
        var config = HTTP2ServerTransport.Posix.Config.defaults
        config.compression.enabledAlgorithms = [.gzip, .deflate]
        config.rpc.maxRequestPayloadSize = maxMessageBytes
        let hint = wrongProtocolHint
        config.channelDebuggingCallbacks.onAcceptTCPConnection = { channel in
            channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(WrongProtocolAnswer(hint: hint), position: .first)
            }
        }
        let transport = HTTP2ServerTransport.Posix(
            address: address.host.contains(":") ? .ipv6(host: address.host, port: address.port) : .ipv4(host: address.host, port: address.port),
            transportSecurity: .plaintext, config: config)
        let server = GRPCServer(transport: transport, services: services)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                try await withGracefulShutdownHandler {
                    try await server.serve()
                } onGracefulShutdown: {
                    server.beginGracefulShutdown()
                }
            }
            group.addTask {
                let bound: GRPCNIOTransportCore.SocketAddress
                do {
                    bound = try await transport.listeningAddress
                } catch {
                    throw GRPCListenError(name: name, address: address, underlying: error)
                }
                let port = bound.ipv4?.port ?? bound.ipv6?.port ?? address.port
                let line = "\(name) OTLP/gRPC on \(address.host.contains(":") ? "[\(address.host)]" : address.host):\(port)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            }
        }
    }
}

/// The gRPC port could not be bound: says which flag changes it.
public struct GRPCListenError: Error, CustomStringConvertible {
    let name: String
    let address: ListenAddress
    let underlying: any Error

    public var description: String {
        "\(name) cannot listen for OTLP/gRPC on \(address): \(underlying); choose another address or 'off'"
    }
}
