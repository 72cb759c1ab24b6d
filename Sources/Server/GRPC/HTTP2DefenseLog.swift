import Logging
import NIOCore
import NIOHTTP2

/// Sits behind the HTTP/2 handler of each gRPC connection and says, once, when its
/// denial-of-service defenses close the connection. Such a close is a GOAWAY
/// ENHANCE_YOUR_CALM with last stream 0, which tells the client that none of its calls in
/// progress were seen, so it may send again calls the server had already accepted: the
/// warning names the client and the defense, so duplicates and reconnects can be traced to it.
final class HTTP2DefenseLog: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame

    private let server: String
    private let logger: Logger
    private var logged = false

    init(server: String, logger: Logger) {
        self.server = server
        self.logger = logger
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !logged, let defense = Self.defense(error) {
            logged = true
            let peer = context.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "a client"
            logger.warning(
                "\(server) closed the OTLP/gRPC connection from \(peer): the client \(defense). Its calls in progress may be sent again; if this repeats, lower the client's concurrent exports or raise max_concurrent_requests")
        }
        context.fireErrorCaught(error)
    }

    /// What the client did, for the errors with which NIO's HTTP/2 defenses close a connection.
    static func defense(_ error: any Error) -> String? {
        switch error {
        case is NIOHTTP2Errors.ExcessiveRSTFrames: "reset too many streams (more than 200 in 30 s)"
        case is NIOHTTP2Errors.ExcessiveStreamErrors: "caused too many stream errors (more than 200 in 30 s)"
        case is NIOHTTP2Errors.ExcessiveNumberOfGlitches: "caused too many stream errors on one connection (200)"
        case is NIOHTTP2Errors.ExcessiveControlFrames: "sent too many PING or SETTINGS frames (more than 200 in 30 s)"
        case is NIOHTTP2Errors.ExcessiveEmptyDataFrames: "sent empty DATA frames in a row"
        case is NIOHTTP2Errors.ExcessiveContinuationFrames: "sent too many CONTINUATION frames"
        case is NIOHTTP2Errors.ExcessiveOutboundFrameBuffering: "did not read the server's frames"
        default: nil
        }
    }
}
