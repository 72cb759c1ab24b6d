import Logging
import NIOCore
import NIOHTTP2

/// Sits behind the HTTP/2 handler of each gRPC connection and says when its denial-of-service
/// defenses close the connection as an attack. Such a close is a GOAWAY ENHANCE_YOUR_CALM with
/// last stream 0, which tells the client that none of its calls in progress were seen, so it
/// may send again calls the server had already accepted: the warning names the client and what
/// it did, so duplicates and reconnects can be traced to it. One warning per connection, and
/// the server's `throttle` lets one through a minute, counting the rest.
final class HTTP2DefenseLog: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame

    private let server: String
    private let logger: Logger
    private let throttle: LogThrottle
    private var logged = false

    init(server: String, logger: Logger, throttle: LogThrottle) {
        self.server = server
        self.logger = logger
        self.throttle = throttle
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !logged, let defense = Self.defense(error) {
            logged = true
            if let held = throttle.admit() {
                let peer = context.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "a client"
                let more = LogThrottle.heldBack(held, "such connections")
                logger.warning(
                    "\(server) closed the OTLP/gRPC connection from \(peer) as an attack: the client \(defense); calls it had in progress may be sent again\(more)")
            }
        }
        context.fireErrorCaught(error)
    }

    /// What the client did, for the errors with which NIO's HTTP/2 defenses close a connection
    /// as a misbehaving peer's (last stream 0).
    static func defense(_ error: any Error) -> String? {
        switch error {
        case is NIOHTTP2Errors.ExcessiveRSTFrames:
            "reset more than 200 streams in 30 s, as gRPC clients do for each call answered before they finish sending it; lower the client's concurrent exports or raise max_concurrent_requests"
        case is NIOHTTP2Errors.ExcessiveStreamErrors: "caused more than 200 stream errors in 30 s"
        case is NIOHTTP2Errors.ExcessiveNumberOfGlitches: "caused 200 stream errors on one connection"
        case is NIOHTTP2Errors.ExcessiveControlFrames: "sent more than 200 PING, SETTINGS, PRIORITY, ALTSVC or ORIGIN frames in 30 s"
        case is NIOHTTP2Errors.ExcessiveEmptyDataFrames: "sent empty DATA frames in a row"
        default: nil
        }
    }
}
