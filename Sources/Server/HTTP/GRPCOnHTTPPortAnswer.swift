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

    /// Bytes of frames the answer waits through for the client's first `HEADERS` (the client's
    /// SETTINGS and WINDOW_UPDATE come first); past this, the connection is closed unanswered.
    static let maxBufferedBytes = 64 * 1024
    /// After the answer, how long the client may take to close; its unread bytes are discarded
    /// meanwhile, so the answer is not lost to a reset.
    static let lingerAfterAnswer = TimeAmount.seconds(5)

    private let hint: @Sendable () -> String
    private let logger: Logger
    private let throttle: LogThrottle
    private(set) var verdict = Verdict.undecided
    private var received: ByteBuffer?
    /// Bytes of HTTP/2 frames read so far (after the preface).
    private var framesRead = 0
    private var acknowledgedSettings = false
    /// Set when the channel closes: nothing more is read or written (a failed flush can close
    /// it in the middle of `channelRead`).
    private var inactive = false

    init(hint: @escaping @Sendable () -> String, logger: Logger, throttle: LogThrottle) {
        self.hint = hint
        self.logger = logger
        self.throttle = throttle
    }

    // Writes below are only queued (`context.write`); the one flush comes last, after every
    // state change: a flush can fail the channel and re-enter this handler (`channelInactive`).
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch verdict {
        case .http1:
            context.fireChannelRead(data)
            return
        case .answered:
            return
        case .undecided, .http2:
            guard !inactive else { return }
        }
        var buffer = unwrapInboundIn(data)
        if var earlier = received {
            earlier.writeBuffer(&buffer)
            buffer = earlier
        }
        received = nil
        var wrote = false
        if verdict == .undecided {
            let seen = buffer.readableBytesView.prefix(HTTP2Frames.preface.count)
            guard seen.elementsEqual(HTTP2Frames.preface.prefix(seen.count)) else {
                verdict = .http1
                context.fireChannelRead(wrapInboundOut(buffer))
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                return
            }
            guard seen.count == HTTP2Frames.preface.count else {
                received = buffer
                return
            }
            verdict = .http2
            buffer.moveReaderIndex(forwardBy: HTTP2Frames.preface.count)
            warn(context: context)
            // HTTP/2 clients (grpc-core among them) send no request until the server's SETTINGS arrive.
            write(.settings, context: context)
            wrote = true
        }
        var acknowledgeSettings = false
        let step = nextStep(&buffer, acknowledgeSettings: &acknowledgeSettings)
        if acknowledgeSettings {
            write(.settings, flags: 0x1, context: context)
            wrote = true
        }
        switch step {
        case .waitForMore:
            buffer.discardReadBytes()
            received = buffer
        case .answer(let stream):
            answer(stream: stream, context: context)
            return
        case .refuse:
            verdict = .answered
            context.flush()
            context.close(promise: nil)
            return
        }
        if wrote { context.flush() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        received = nil
        inactive = true
        context.fireChannelInactive()
    }

    private enum Step { case waitForMore, answer(stream: UInt32), refuse }

    /// Consumes whole frames from `buffer` until the client's first `HEADERS` (answer it), the
    /// end of what arrived (wait), or more than `maxBufferedBytes` of frames (refuse); on the
    /// way, the client's first SETTINGS sets `acknowledgeSettings` (one ACK, however many come).
    private func nextStep(_ buffer: inout ByteBuffer, acknowledgeSettings: inout Bool) -> Step {
        while let header = HTTP2Frames.FrameHeader.peek(buffer) {
            if header.type == HTTP2Frames.FrameType.headers.rawValue && header.streamID != 0 {
                return .answer(stream: header.streamID)
            }
            let frameBytes = HTTP2Frames.headerLength + header.length
            guard framesRead + frameBytes <= Self.maxBufferedBytes else { return .refuse }
            guard buffer.readableBytes >= frameBytes else { return .waitForMore }
            buffer.moveReaderIndex(forwardBy: frameBytes)
            framesRead += frameBytes
            if header.type == HTTP2Frames.FrameType.settings.rawValue && header.flags & 0x1 == 0 && header.streamID == 0 && !acknowledgedSettings {
                acknowledgedSettings = true
                acknowledgeSettings = true
            }
        }
        return .waitForMore
    }

    private func write(_ type: HTTP2Frames.FrameType, flags: UInt8 = 0, context: ChannelHandlerContext) {
        var frame = context.channel.allocator.buffer(capacity: HTTP2Frames.headerLength)
        HTTP2Frames.writeFrame(type, flags: flags, into: &frame)
        context.write(wrapOutboundOut(frame), promise: nil)
    }

    /// Answers `stream` with a trailers-only `UNIMPLEMENTED` naming the right port, says GOAWAY,
    /// and closes its side; whatever the client still sends is read and dropped until it
    /// closes too, or `lingerAfterAnswer` passes.
    private func answer(stream: UInt32, context: ChannelHandlerContext) {
        verdict = .answered
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
        context.eventLoop.scheduleTask(in: Self.lingerAfterAnswer) { bound.value.close(promise: nil) }
        context.writeAndFlush(wrapOutboundOut(out)).whenComplete { result in
            let context = bound.value
            guard case .success = result else { return context.close(promise: nil) }
            let halfClosed = context.eventLoop.makePromise(of: Void.self)
            halfClosed.futureResult.whenFailure { _ in bound.value.close(promise: nil) }
            context.close(mode: .output, promise: halfClosed)
        }
    }

    private func warn(context: ChannelHandlerContext) {
        guard let held = throttle.admit() else { return }
        let peer = context.channel.remoteAddress.map { "\($0)" } ?? "a client"
        let more = LogThrottle.heldBack(held, "such connections")
        logger.warning("HTTP/2 connection from \(peer) on the OTLP/HTTP port, probably an OTLP/gRPC exporter: \(hint())\(more)")
    }
}
