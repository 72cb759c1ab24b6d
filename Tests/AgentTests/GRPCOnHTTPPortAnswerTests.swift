import Logging
import NIOCore
import NIOEmbedded
@testable import PeriscopeServer
import PeriscopeModel
import PeriscopeTesting
import Testing

/// The first bytes of every connection to an OTLP/HTTP port: HTTP/1.1 passes through byte for
/// byte; an HTTP/2 client gets, on its first stream, a gRPC `UNIMPLEMENTED` whose message names
/// the gRPC port, then GOAWAY and a close — however its bytes are split, whatever frames come
/// before its first HEADERS; and hostile frames after the preface never buffer without bound.
@Suite("HTTP port: gRPC client answer")
struct GRPCOnHTTPPortAnswerTests {
    static let hint = "this port takes OTLP/HTTP; send OTLP/gRPC to 127.0.0.1:4317 (100% sure)"

    struct Fed {
        var inbound: [UInt8]
        var outbound: [UInt8]
        var closed: Bool
        var verdict: GRPCOnHTTPPortAnswer.Verdict
    }

    func feed(_ bytes: [UInt8], chunks: [Int], throttle: LogThrottle = LogThrottle()) throws -> Fed {
        let handler = GRPCOnHTTPPortAnswer(hint: { Self.hint }, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), throttle: throttle)
        let fed = ProtocolFuzzing.feed(handler, bytes, chunks: chunks)
        return Fed(inbound: fed.inbound, outbound: fed.outbound, closed: fed.closed, verdict: handler.verdict)
    }

    static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, payload: [UInt8]) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(payload.count) << 8 | UInt32(type))
        buffer.writeInteger(flags)
        buffer.writeInteger(stream)
        buffer.writeBytes(payload)
        return Array(buffer.readableBytesView)
    }

    /// Reads the answer back as an HTTP/2 client would: frame by frame, decoding HPACK literals.
    static func parseAnswer(_ bytes: [UInt8]) throws -> (frames: [(type: UInt8, flags: UInt8, stream: UInt32)], headers: [String: String], goAwayDebug: String) {
        var buffer = ByteBuffer(bytes: bytes)
        var frames: [(type: UInt8, flags: UInt8, stream: UInt32)] = []
        var headers: [String: String] = [:]
        var debug = ""
        while let header = HTTP2Frames.FrameHeader.peek(buffer) {
            buffer.moveReaderIndex(forwardBy: 9)
            let read = buffer.readBytes(length: header.length)
            let payload = try #require(read, "a whole frame")
            frames.append((header.type, header.flags, header.streamID))
            if header.type == 1 {
                var index = 0
                func string() throws -> String {
                    try #require(payload[index] < 127, "short strings only in this answer")
                    let length = Int(payload[index])
                    defer { index += 1 + length }
                    return String(decoding: payload[(index + 1)..<(index + 1 + length)], as: UTF8.self)
                }
                while index < payload.count {
                    #expect(payload[index] == 0, "a literal without indexing")
                    index += 1
                    let name = try string()
                    headers[name] = try string()
                }
            } else if header.type == 7 {
                debug = String(decoding: payload.dropFirst(8), as: UTF8.self)
            }
        }
        #expect(buffer.readableBytes == 0)
        return (frames, headers, debug)
    }

    @Test("HTTP/1.1 bytes, split anyhow, pass through unchanged")
    func http1PassesThrough() throws {
        var generator = SeededGenerator(seed: 41)
        for round in 0..<1_000 {
            var bytes = Array("POST /v1/logs HTTP/1.1\r\nhost: x\r\n\r\n".utf8)
            if round % 2 == 1 { bytes = (0..<Int(generator.next() % 48) + 1).map { _ in UInt8(truncatingIfNeeded: generator.next()) } }
            if HTTP2Frames.preface.starts(with: bytes) || bytes.starts(with: HTTP2Frames.preface) { continue }
            let fed = try feed(bytes, chunks: (0..<6).map { _ in Int(generator.next() % 20) + 1 })
            #expect(fed.inbound == bytes, "round \(round)")
            #expect(fed.outbound.isEmpty && !fed.closed && fed.verdict == .http1)
        }
    }

    @Test("an HTTP/2 client gets UNIMPLEMENTED naming the gRPC port on its first stream, after any frames, split anyhow")
    func grpcClientIsAnswered() throws {
        var generator = SeededGenerator(seed: 42)
        for round in 0..<1_000 {
            var bytes = HTTP2Frames.preface
            bytes += Self.frame(type: 4, payload: (0..<Int(generator.next() % 4) * 6).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
            for _ in 0..<Int(generator.next() % 3) {
                bytes += Self.frame(type: 8, payload: [0, 0, 0x10, 0])  // WINDOW_UPDATE
            }
            let stream = UInt32(generator.next() % 1000) * 2 + 1
            bytes += Self.frame(type: 1, flags: 4, stream: stream, payload: (0..<Int(generator.next() % 200)).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
            bytes += Self.frame(type: 0, flags: 1, stream: stream, payload: [0, 0, 0, 0, 2, 1, 2])
            let fed = try feed(bytes, chunks: (0..<10).map { _ in Int(generator.next() % 40) + 1 })
            #expect(fed.inbound.isEmpty, "round \(round): nothing reaches HTTP/1")
            #expect(fed.closed && fed.verdict == .answered)
            let answer = try Self.parseAnswer(fed.outbound)
            #expect(answer.frames.map(\.type) == [4, 4, 1, 7])
            #expect(answer.frames[0].flags == 0 && answer.frames[1].flags == 1, "the server's SETTINGS, then the ACK of the client's")
            #expect(answer.frames[2].stream == stream && answer.frames[2].flags == 5)
            #expect(answer.headers == [
                ":status": "200", "content-type": "application/grpc", "grpc-status": "12",
                "grpc-message": "this port takes OTLP/HTTP; send OTLP/gRPC to 127.0.0.1:4317 (100%25 sure)",
            ])
            #expect(answer.goAwayDebug == Self.hint)
        }
    }

    @Test("after the preface, garbage is never passed on and never buffered past the bound")
    func hostileFrames() throws {
        var generator = SeededGenerator(seed: 43)
        for round in 0..<1_000 {
            var bytes = HTTP2Frames.preface
            bytes += (0..<Int(generator.next() % 300)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let fed = try feed(bytes, chunks: (0..<8).map { _ in Int(generator.next() % 64) + 1 })
            #expect(fed.inbound.isEmpty, "round \(round)")
            #expect(fed.verdict == .http2 || fed.verdict == .answered)
            #expect(fed.verdict == .http2 ? !fed.closed : fed.closed)
            #expect(Array(fed.outbound.prefix(9)) == [0, 0, 0, 4, 0, 0, 0, 0, 0], "the server's SETTINGS, sent once the preface is in")
        }
        // A frame that announces more than the bound closes the connection unanswered.
        let huge = HTTP2Frames.preface + Self.frame(type: 4, payload: []) + [0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0]
        let fed = try feed(huge, chunks: [huge.count])
        #expect(fed.closed && fed.verdict == .answered)
        #expect(try Self.parseAnswer(fed.outbound).frames.map(\.type) == [4, 4], "SETTINGS and the ACK, then closed unanswered")
        // Many small frames without HEADERS, split anyhow: closed once together they pass the bound.
        var many = HTTP2Frames.preface
        for _ in 0..<(GRPCOnHTTPPortAnswer.maxBufferedBytes / 1_000 + 2) { many += Self.frame(type: 0, stream: 0, payload: [UInt8](repeating: 0, count: 991)) }
        for chunks in [[many.count], [Int](repeating: 700, count: 200)] {
            let small = try feed(many, chunks: chunks)
            #expect(small.closed && small.verdict == .answered && small.inbound.isEmpty)
        }
        // A SETTINGS flood gets one ACK, not one per frame, and is closed at the bound.
        var flood = HTTP2Frames.preface
        for _ in 0..<(GRPCOnHTTPPortAnswer.maxBufferedBytes / 9 + 10) { flood += Self.frame(type: 4, payload: []) }
        let flooded = try feed(flood, chunks: [Int](repeating: 4_096, count: 200))
        #expect(flooded.closed)
        #expect(try Self.parseAnswer(flooded.outbound).frames.map(\.type) == [4, 4], "SETTINGS and one ACK")
    }

    @Test("the warning is throttled: one per interval, counting the ones held back")
    func throttle() {
        let clock = ManualClock()
        let throttle = LogThrottle(interval: .seconds(60), timeline: Timeline(clock))
        #expect(throttle.admit() == 0)
        #expect(throttle.admit() == nil)
        #expect(throttle.admit() == nil)
        clock.advance(by: .seconds(61))
        #expect(throttle.admit() == 2)
        #expect(throttle.admit() == nil)
    }

    /// Closes the channel on the first flush, as a socket whose peer reset it does.
    final class CloseOnFlush: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        func flush(context: ChannelHandlerContext) { context.close(promise: nil) }
    }

    @Test("a connection that fails while the answer is flushed (a reset client) leaves nothing to trap on, however the bytes are split")
    func failedFlush() throws {
        var generator = SeededGenerator(seed: 45)
        let request = HTTP2Frames.preface + Self.frame(type: 4, payload: [0, 3, 0, 0, 0, 100]) + Self.frame(type: 4, payload: [])
            + Self.frame(type: 1, flags: 4, stream: 1, payload: [0x82])
        for _ in 0..<300 {
            let handler = GRPCOnHTTPPortAnswer(hint: { Self.hint }, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), throttle: LogThrottle())
            let channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandler(CloseOnFlush())
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            var offset = 0
            while offset < request.count {
                let end = min(request.count, offset + Int(generator.next() % 40) + 1)
                _ = try? channel.writeInbound(ByteBuffer(bytes: request[offset..<end]))
                offset = end
            }
            #expect(!channel.isActive, "closed by the failed flush")
            #expect(handler.verdict == .http2 || handler.verdict == .answered, "it saw the preface; whatever came after, nothing trapped")
            _ = try? channel.finish()
        }
    }
}
