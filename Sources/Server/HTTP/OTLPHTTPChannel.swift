import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1.1 server with `GRPCOnHTTPPortAnswer` first on every connection, so an
/// OTLP/gRPC exporter sent to the HTTP port hears which port to use.
struct OTLPHTTPChannel: ServerChildChannel {
    let http1: HTTP1Channel
    let grpcHint: @Sendable () -> String
    let throttle: LogThrottle
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(GRPCOnHTTPPortAnswer(hint: grpcHint, logger: self.logger, throttle: throttle))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return http1.setup(channel: channel, logger: logger)
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// `otlpHTTP` with the hint built from where the program's gRPC receiver is: `grpc` (`nil`
    /// when turned off), named for `program` ("agent's") and the flag that sets it. `takes`
    /// says what this port is for ("OTLP/HTTP", "OTLP/HTTP and queries").
    public static func otlpHTTP(
        configuration: HTTP1Channel.Configuration, grpc: BoundAddress?, program: String, grpcFlag: String, takes: String, logger: Logger
    ) -> HTTPServerBuilder {
        otlpHTTP(configuration: configuration, grpcHint: {
            guard let grpc else {
                return "this port takes \(takes); the \(program) OTLP/gRPC receiver is off (enable it with \(grpcFlag))"
            }
            return grpc.isServing
                ? "this port takes \(takes); send OTLP/gRPC to the \(program) \(grpcFlag) address (\(grpc))"
                : "this port takes \(takes); the \(program) OTLP/gRPC receiver is not running (\(grpc) was taken; set \(grpcFlag))"
        }, logger: logger)
    }

    /// HTTP/1.1 for OTLP/HTTP and queries; a gRPC client that connects here is told `grpcHint`
    /// (which port takes OTLP/gRPC) in its status message, and the server logs it once a minute.
    public static func otlpHTTP(
        configuration: HTTP1Channel.Configuration, grpcHint: @escaping @Sendable () -> String, logger: Logger
    ) -> HTTPServerBuilder {
        let throttle = LogThrottle()
        return HTTPServerBuilder { responder in
            OTLPHTTPChannel(
                http1: HTTP1Channel(responder: responder, configuration: configuration), grpcHint: grpcHint, throttle: throttle, logger: logger)
        }
    }
}
