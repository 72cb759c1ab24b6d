import NIOCore
import NIOEmbedded
@testable import PeriscopeServer
import PeriscopeTesting
import Testing

/// The first bytes of every connection to a gRPC port, from anyone: a client that sends the
/// HTTP/2 preface gets every byte it sent to gRPC exactly once, with what the server wrote in
/// the meantime; anything else gets one HTTP/1.1 400 and a closed connection — whatever the
/// bytes and however they are split.
@Suite("gRPC port: wrong-protocol answer")
struct WrongProtocolAnswerTests {
    /// Feeds `bytes` in chunks of the given sizes; returns what reached the next handler and what was written out.
    func feed(_ bytes: [UInt8], chunks: [Int], serverWritesFirst: Bool = true) throws -> (inbound: [UInt8], outbound: [UInt8], closed: Bool) {
        let fed = ProtocolFuzzing.feed(WrongProtocolAnswer(hint: "use port 4318"), bytes, chunks: chunks) { channel in
            // An HTTP/2 server speaks first: its SETTINGS must wait for the verdict.
            // Not waited for: the write is held until the verdict.
            if serverWritesFirst { channel.writeAndFlush(ByteBuffer(bytes: [0, 0, 0, 4, 0, 0, 0, 0, 0]), promise: nil) }
        }
        return (fed.inbound, fed.outbound, fed.closed)
    }

    @Test("random bytes and random splits: gRPC gets exactly what was sent, or the client gets one 400")
    func property() throws {
        var generator = SeededGenerator(seed: 23)
        let preface = WrongProtocolAnswer.preface
        for round in 0..<2_000 {
            let isHTTP2 = round % 2 == 0
            var bytes: [UInt8] = isHTTP2 ? preface : (round % 4 == 1 ? Array("POST /v1/logs HTTP/1.1\r\n".utf8) : [])
            for _ in 0..<Int(generator.next() % 64) { bytes.append(UInt8(truncatingIfNeeded: generator.next())) }
            if !isHTTP2, bytes.starts(with: preface) { continue }
            let chunks = (0..<8).map { _ in Int(generator.next() % 30) + 1 }
            let (inbound, outbound, closed) = try feed(bytes, chunks: chunks)
            let decidable = isHTTP2 || !preface.starts(with: bytes)
            guard decidable else {
                // A strict prefix of the preface: still waiting, nothing passed on or answered.
                #expect(inbound.isEmpty && outbound.isEmpty && !closed)
                continue
            }
            if isHTTP2 {
                #expect(inbound == bytes, "round \(round): every byte once, in order")
                #expect(outbound == [0, 0, 0, 4, 0, 0, 0, 0, 0], "round \(round): the held SETTINGS frame, once")
                #expect(!closed)
            } else {
                #expect(inbound.isEmpty, "round \(round): nothing reaches gRPC")
                let text = String(decoding: outbound, as: UTF8.self)
                #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n") && text.hasSuffix("use port 4318\n"), "round \(round): \(text)")
                #expect(closed)
            }
        }
    }

    @Test("an undecided connection is closed when the server shuts down, and its held writes fail")
    func quiesce() throws {
        let channel = EmbeddedChannel(handler: WrongProtocolAnswer(hint: "h"))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let write = channel.writeAndFlush(ByteBuffer(bytes: [1, 2, 3]))
        try channel.writeInbound(ByteBuffer(bytes: WrongProtocolAnswer.preface.prefix(5)))
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!channel.isActive)
        #expect(throws: (any Error).self) { try write.wait() }
        _ = try? channel.finish()
    }
}
