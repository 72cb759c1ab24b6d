import Logging
import NIOCore

/// Sits first on each connection to an OTLP/HTTP port until it knows the connection is not
/// HTTP/2. A gRPC exporter pointed at the HTTP port (4318 where 4317 was meant) would otherwise
/// get an HTTP/1.1 `400` it cannot read and report only that the connection failed. Instead it
/// gets a well-formed gRPC answer — `UNIMPLEMENTED`, with a message naming the gRPC port — on
/// its first stream, then `GOAWAY` and a close; and the server logs one warning (throttled) that
/// says the same. An HTTP/1.1 connection passes through untouched once its first bytes differ
/// from the HTTP/2 preface.
final class GRPCOnHTTPPortAnswer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What the connection turned out to be.
    enum Verdict: Equatable { case undecided, http1, http2, answered }

    /// Frames the answer waits through for the client's first `HEADERS`; past this, or at a frame
    /// announcing more, the connection is closed without an answer.
    static let maxBufferedBytes = 64 * 1024

    private let hint: @Sendable () -> String
    private let logger: Logger
    private let throttle: LogThrottle
    private(set) var verdict = Verdict.undecided
    private var received: ByteBuffer?

    init(hint: @escaping @Sendable () -> String, logger: Logger, throttle: LogThrottle) {
        self.hint = hint
        self.logger = logger
        self.throttle = throttle
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        switch verdict {
        case .http1:
            context.fireChannelRead(data)
            return
        case .answered:
            return
        case .undecided, .http2:
            break
        }
        if received == nil {
            received = incoming
        } else {
            received!.writeBuffer(&incoming)
        }
        if verdict == .undecided {
            let seen = received!.readableBytesView.prefix(HTTP2Frames.preface.count)
            guard seen.elementsEqual(HTTP2Frames.preface.prefix(seen.count)) else {
                verdict = .http1
                let bytes = received!
                received = nil
                context.fireChannelRead(wrapInboundOut(bytes))
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                return
            }
            guard seen.count == HTTP2Frames.preface.count else { return }
            verdict = .http2
            received!.moveReaderIndex(forwardBy: HTTP2Frames.preface.count)
            warn(context: context)
            // HTTP/2 clients (grpc-core among them) send no request until the server's SETTINGS arrive.
            var settings = context.channel.allocator.buffer(capacity: HTTP2Frames.headerLength)
            HTTP2Frames.writeFrame(.settings, into: &settings)
            context.writeAndFlush(wrapOutboundOut(settings), promise: nil)
        }
        answerFirstStream(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        received = nil
        context.fireChannelInactive()
    }

    /// Skips frames until the client's first `HEADERS`, then answers that stream.
    private func answerFirstStream(context: ChannelHandlerContext) {
        while let header = HTTP2Frames.FrameHeader.peek(received!) {
            if header.type == HTTP2Frames.FrameType.headers.rawValue && header.streamID != 0 {
                answer(stream: header.streamID, context: context)
                return
            }
            guard header.length <= Self.maxBufferedBytes else { break }
            guard received!.readableBytes >= HTTP2Frames.headerLength + header.length else {
                guard received!.readableBytes <= Self.maxBufferedBytes else { break }
                received!.discardReadBytes()
                return
            }
            received!.moveReaderIndex(forwardBy: HTTP2Frames.headerLength + header.length)
            if header.type == HTTP2Frames.FrameType.settings.rawValue && header.flags & 0x1 == 0 && header.streamID == 0 {
                var ack = context.channel.allocator.buffer(capacity: HTTP2Frames.headerLength)
                HTTP2Frames.writeFrame(.settings, flags: 0x1, into: &ack)
                context.writeAndFlush(wrapOutboundOut(ack), promise: nil)
            }
        }
        if HTTP2Frames.FrameHeader.peek(received!) == nil {
            received!.discardReadBytes()
            return
        }
        verdict = .answered
        received = nil
        context.close(promise: nil)
    }

    private func answer(stream: UInt32, context: ChannelHandlerContext) {
        verdict = .answered
        received = nil
        let hint = self.hint()
        var out = context.channel.allocator.buffer(capacity: 256 + 2 * hint.utf8.count)
        let block = HTTP2Frames.headerBlock([
            (":status", "200"), ("content-type", "application/grpc"),
            ("grpc-status", "12"), ("grpc-message", HTTP2Frames.percentEncoded(hint)),
        ])
        HTTP2Frames.writeFrame(.headers, flags: 0x1 | 0x4, stream: stream, payload: block, into: &out)  // END_STREAM | END_HEADERS
        var goAway: [UInt8] = []
        for shift in stride(from: 24, through: 0, by: -8) { goAway.append(UInt8(truncatingIfNeeded: stream >> UInt32(shift))) }
        goAway += [0, 0, 0, 0]  // NO_ERROR
        goAway += Array(hint.utf8)
        HTTP2Frames.writeFrame(.goAway, payload: goAway, into: &out)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in bound.value.close(promise: nil) }
    }

    private func warn(context: ChannelHandlerContext) {
        guard let held = throttle.admit() else { return }
        let peer = context.channel.remoteAddress.map { "\($0)" } ?? "a client"
        let more = held > 0 ? " (\(held) more such connections since the last warning)" : ""
        logger.warning("HTTP/2 connection from \(peer) on the OTLP/HTTP port, probably an OTLP/gRPC exporter: \(hint())\(more)")
    }
}
