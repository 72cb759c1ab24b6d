import Logging
import NIOCore
import NIOEmbedded
import PeriscopeModel

/// Entry points for fuzzing what the servers read from a connection before any HTTP library
/// does, and the gRPC messages they are handed: the first bytes on a gRPC port, the first bytes
/// (and HTTP/2 frames) on an OTLP/HTTP port, and an OTLP/gRPC `Export` message as the service
/// reads and answers it. Each check traps (`precondition`) when an invariant breaks. Public for
/// the libFuzzer target in `Fuzz/`. The gRPC length-prefixed framing and its gzip are parsed by
/// grpc-swift before the message reaches the service.
public enum ProtocolFuzzing {
    private static let quiet = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
    private static let service = OTLPGRPCService(ingest: OTLPIngest(limits: BodyLimits(maxBodyBytes: 1 << 20, maxDecompressedBytes: 1 << 20)), logger: quiet) { .accepted($0) }

    /// The first byte picks what the rest is: bytes on a gRPC port, bytes on an HTTP port, or a
    /// gRPC message for one of the three signals. The second picks how the bytes are split into reads.
    public static func check(_ input: UnsafeRawBufferPointer) {
        guard input.count >= 2 else { return }
        let chunk = Int(input[1] % 64) + 1
        let bytes = Array(input[2...])
        switch input[0] % 5 {
        case 0: checkGRPCPort(bytes, chunk: chunk)
        case 1: checkHTTPPort(bytes, chunk: chunk)
        default: checkMessage(bytes, signal: Signal.allCases[Int(input[0] % 5) - 2])
        }
    }

    /// What a first-bytes handler did with a connection's bytes.
    struct Fed {
        /// Bytes that reached the next handler.
        var inbound: [UInt8]
        /// Bytes the handler wrote to the client.
        var outbound: [UInt8]
        var closed: Bool
    }

    /// Feeds `bytes` to `handler` on an embedded channel, in reads of the sizes in `chunks` and
    /// then one read of the rest, after `setUp` (say, a write the server makes first).
    static func feed(
        _ handler: some ChannelHandler, _ bytes: [UInt8], chunks: [Int], setUp: (EmbeddedChannel) -> Void = { _ in }
    ) -> Fed {
        let channel = EmbeddedChannel(handler: handler)
        _ = channel.connect(to: try! SocketAddress(ipAddress: "127.0.0.1", port: 1))
        setUp(channel)
        var offset = 0
        for size in chunks where offset < bytes.count && channel.isActive {
            let end = min(bytes.count, offset + max(1, size))
            _ = try? channel.writeInbound(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
        }
        if offset < bytes.count, channel.isActive { _ = try? channel.writeInbound(ByteBuffer(bytes: bytes[offset...])) }
        // Past any linger: a connection left half-closed by an answer is closed by then.
        channel.embeddedEventLoop.advanceTime(by: GRPCOnHTTPPortAnswer.lingerAfterAnswer + .seconds(1))
        var fed = Fed(inbound: [], outbound: [], closed: false)
        while let buffer = try? channel.readInbound(as: ByteBuffer.self) { fed.inbound += buffer.readableBytesView }
        while let buffer = try? channel.readOutbound(as: ByteBuffer.self) { fed.outbound += buffer.readableBytesView }
        fed.closed = !channel.isActive
        _ = try? channel.finish()
        return fed
    }

    private static func unpack(_ fed: Fed) -> ([UInt8], [UInt8], Bool) { (fed.inbound, fed.outbound, fed.closed) }

    static func checkGRPCPort(_ bytes: [UInt8], chunk: Int) {
        let (inbound, outbound, closed) = unpack(feed(WrongProtocolAnswer(hint: "use the HTTP port"), bytes, chunks: [Int](repeating: chunk, count: bytes.count / chunk + 1)))
        let preface = HTTP2Frames.preface
        if bytes.starts(with: preface) {
            precondition(inbound == bytes && outbound.isEmpty && !closed, "an HTTP/2 client's bytes reach gRPC once, in order")
        } else if preface.starts(with: bytes) {
            precondition(inbound.isEmpty && outbound.isEmpty && !closed, "a strict prefix of the preface waits")
        } else {
            precondition(inbound.isEmpty && closed, "anything else reaches nothing and is closed")
            precondition(outbound.starts(with: Array("HTTP/1.1 400 Bad Request\r\n".utf8)), "and is told so")
        }
    }

    static func checkHTTPPort(_ bytes: [UInt8], chunk: Int) {
        let handler = GRPCOnHTTPPortAnswer(hint: { "use the gRPC port" }, logger: quiet, throttle: LogThrottle())
        let (inbound, outbound, closed) = unpack(feed(handler, bytes, chunks: [Int](repeating: chunk, count: bytes.count / chunk + 1)))
        let preface = HTTP2Frames.preface
        if bytes.starts(with: preface) {
            precondition(inbound.isEmpty, "nothing of an HTTP/2 connection reaches HTTP/1")
            precondition(outbound.starts(with: [0, 0, 0, 4, 0, 0, 0, 0, 0]), "an HTTP/2 client hears SETTINGS first")
            precondition(closed == (handler.verdict == .answered), "a connection is closed exactly when it was answered or refused: \(bytes) \(chunk) \(closed) \(handler.verdict)")
        } else if preface.starts(with: bytes) {
            precondition(inbound.isEmpty && outbound.isEmpty && !closed, "a strict prefix of the preface waits")
        } else {
            precondition(inbound == bytes && outbound.isEmpty && !closed, "HTTP/1.1 passes through unchanged")
        }
    }

    static func checkMessage(_ message: [UInt8], signal: Signal) {
        let request: OTLPIngestRequest
        var claim = RequestMemoryClaim(nil)
        do {
            request = try service.read(signal, message: message, claim: &claim)
        } catch {
            precondition(error.code == .invalidArgument && !error.message.isEmpty, "a refused message says why")
            return
        }
        guard let response = try? OTLPGRPCService.response(signal, to: .accepted(request)) else {
            preconditionFailure("an accepted message always has a response")
        }
        precondition(request.decoded.rejectedItems >= 0, "a count of refused items is never negative")
        precondition(response.isEmpty == (request.decoded.rejectedItems == 0), "partial success is reported exactly when items were refused")
        for (status, retry) in [(429, 1), (503, 7), (401, 0), (400, 0)] as [(Int, Int)] {
            let failure = OTLPIngestFailure(status: .init(code: status), message: "m", format: .protobuf)
            precondition((try? OTLPGRPCService.response(signal, to: .failed(failure, retryAfterSeconds: retry))) == nil, "a failure is a status error")
        }
    }
}
