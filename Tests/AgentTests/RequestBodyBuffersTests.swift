import NIOCore
@testable import PeriscopeAgent
import Testing

@Suite("Request body buffers")
struct RequestBodyBuffersTests {
    private static func address(_ buffer: ByteBuffer) -> UInt {
        buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
    }

    @Test("a buffer back from its request is reused for the next body, which it then holds exactly")
    func reusedOnceReleased() {
        let buffers = RequestBodyBuffers()
        let large = [UInt8](repeating: 7, count: 300_000)
        var first: ByteBuffer? = buffers.buffer(holding: large)
        let address = Self.address(first!)
        buffers.recycle(first!)
        first = nil
        let next = buffers.buffer(holding: [1, 2, 3])
        #expect(Self.address(next) == address, "the kept storage is written again, not a new one")
        #expect(Array(next.readableBytesView) == [1, 2, 3])
    }

    @Test("a kept buffer still held elsewhere (a request in flight) is taken from the pool but not written over")
    func inFlightBodyUnchanged() {
        let buffers = RequestBodyBuffers()
        let inFlight = buffers.buffer(holding: [1, 2, 3])
        buffers.recycle(inFlight)
        let next = buffers.buffer(holding: [9, 9])
        #expect(buffers.keptCount == 0, "the kept buffer was handed out")
        #expect(Array(inFlight.readableBytesView) == [1, 2, 3])
        #expect(Array(next.readableBytesView) == [9, 9])
        #expect(Self.address(next) != Self.address(inFlight))
    }

    @Test("at most maxKept buffers wait, none larger than maxKeptCapacity")
    func bounded() {
        let buffers = RequestBodyBuffers()
        buffers.recycle(ByteBuffer(bytes: [UInt8](repeating: 1, count: RequestBodyBuffers.maxKeptCapacity + 1)))
        #expect(buffers.keptCount == 0, "a buffer over the cap is not kept")
        for _ in 0..<(RequestBodyBuffers.maxKept + 3) { buffers.recycle(ByteBuffer(bytes: [UInt8](repeating: 3, count: 1000))) }
        #expect(buffers.keptCount == RequestBodyBuffers.maxKept)
        _ = buffers.buffer(holding: [4])
        #expect(buffers.keptCount == RequestBodyBuffers.maxKept - 1)
    }
}

@Suite("Refusal messages")
struct RefusalMessageTests {
    @Test("a collector's refusal (or a proxy's) reaches the log and the dead-letter box with its control characters escaped")
    func refusalMessagesAreEscaped() {
        let hostile = "bad \u{1B}]52;c;cm0gLXJmIH4=\u{07}\u{1B}[2J\rFAKE LOG LINE\n\u{202E}x"
        let message = OTLPUploader.message(from: ByteBuffer(string: hostile), contentType: "text/plain")
        #expect(!message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x202E })
        #expect(message == #"bad \u{1B}]52;c;cm0gLXJmIH4=\u{7}\u{1B}[2J\rFAKE LOG LINE\n\u{202E}x"#)
        #expect(OTLPUploader.message(from: ByteBuffer(string: "plain reason"), contentType: nil) == "plain reason")
    }
}
