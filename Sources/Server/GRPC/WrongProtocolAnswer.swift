import NIOCore

/// Sits first on each connection to a gRPC port until the HTTP/2 connection preface has
/// arrived. A client that speaks HTTP/1.1 there (an OTLP/HTTP exporter pointed at 4317) gets a
/// `400` that names the port to use, instead of an HTTP/2 SETTINGS frame it cannot read; a
/// connection that starts with the preface is handed to gRPC untouched. Until it knows, it also
/// holds what the server writes (HTTP/2 servers speak first). A connection that stays silent for
/// `prefaceTimeout`, or is still undecided when the server shuts down, is closed: nothing the
/// server wrote to it has left, so no goodbye could reach it anyway.
final class WrongProtocolAnswer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let preface = HTTP2Frames.preface

    private enum Verdict { case undecided, http2, refused }

    private let hint: String
    private var verdict = Verdict.undecided
    private var received: ByteBuffer?
    private var heldWrites: [(NIOAny, EventLoopPromise<Void>?)] = []
    private var heldFlush = false
    private var prefaceTimer: Scheduled<Void>?

    static let prefaceTimeout = TimeAmount.seconds(10)

    init(hint: String) {
        self.hint = hint
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        prefaceTimer = context.eventLoop.scheduleTask(in: Self.prefaceTimeout) {
            let (handler, context) = bound.value
            guard handler.verdict == .undecided else { return }
            handler.failHeld()
            handler.verdict = .refused
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        prefaceTimer?.cancel()
        failHeld()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if verdict == .undecided, event is ChannelShouldQuiesceEvent {
            failHeld()
            verdict = .refused
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch verdict {
        case .http2:
            context.fireChannelRead(data)
            return
        case .refused:
            return
        case .undecided:
            break
        }
        var incoming = unwrapInboundIn(data)
        if received == nil {
            received = incoming
        } else {
            received!.writeBuffer(&incoming)
        }
        let seen = received!.readableBytesView.prefix(Self.preface.count)
        guard seen.elementsEqual(Self.preface.prefix(seen.count)) else {
            refuse(context: context)
            return
        }
        guard seen.count == Self.preface.count else { return }
        verdict = .http2
        prefaceTimer?.cancel()
        for (data, promise) in heldWrites { context.write(data, promise: promise) }
        heldWrites = []
        if heldFlush { context.flush() }
        let bytes = received!
        received = nil
        context.fireChannelRead(wrapInboundOut(bytes))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch verdict {
        case .http2: context.write(data, promise: promise)
        case .undecided: heldWrites.append((data, promise))
        case .refused: promise?.fail(ChannelError.ioOnClosedChannel)
        }
    }

    func flush(context: ChannelHandlerContext) {
        switch verdict {
        case .http2: context.flush()
        case .undecided: heldFlush = true
        case .refused: return
        }
    }

    private func failHeld() {
        let held = heldWrites
        heldWrites = []
        for (_, promise) in held { promise?.fail(ChannelError.ioOnClosedChannel) }
    }

    private func refuse(context: ChannelHandlerContext) {
        verdict = .refused
        prefaceTimer?.cancel()
        received = nil
        failHeld()
        let body = hint + "\n"
        let response = "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n" + body
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: response)), promise: nil)
        context.close(promise: nil)
    }
}
