import NIOCore

/// The few pieces of HTTP/2 (RFC 9113) and HPACK (RFC 7541) that the protocol hints need: the
/// client connection preface, frame headers, and headers written as plain literals. Not an
/// HTTP/2 implementation — enough to recognise a connection and say one thing on it.
enum HTTP2Frames {
    /// `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` (RFC 9113 §3.4), the first bytes of every HTTP/2 connection.
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    static let headerLength = 9

    enum FrameType: UInt8 {
        case data = 0x0, headers = 0x1, settings = 0x4, goAway = 0x7
    }

    /// A frame header read from the front of `buffer`, without consuming it; `nil` until all
    /// nine bytes are there.
    struct FrameHeader: Equatable {
        var length: Int
        var type: UInt8
        var flags: UInt8
        var streamID: UInt32

        static func peek(_ buffer: ByteBuffer) -> FrameHeader? {
            guard buffer.readableBytes >= HTTP2Frames.headerLength,
                  let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
                  let streamID = buffer.getInteger(at: buffer.readerIndex + 5, as: UInt32.self)
            else { return nil }
            return FrameHeader(
                length: Int(length >> 8), type: UInt8(truncatingIfNeeded: length), flags: buffer.getInteger(at: buffer.readerIndex + 4) ?? 0,
                streamID: streamID & 0x7FFF_FFFF)
        }
    }

    static func writeFrame(_ type: FrameType, flags: UInt8 = 0, stream: UInt32 = 0, payload: [UInt8] = [], into buffer: inout ByteBuffer) {
        precondition(payload.count < 1 << 24, "an HTTP/2 frame payload is at most 2^24 - 1 bytes")
        buffer.writeInteger(UInt32(payload.count) << 8 | UInt32(type.rawValue))
        buffer.writeInteger(flags)
        buffer.writeInteger(stream & 0x7FFF_FFFF)
        buffer.writeBytes(payload)
    }

    /// A header block of literal fields without indexing and without Huffman coding
    /// (RFC 7541 §6.2.2): any HPACK decoder reads it, and the encoder needs no table.
    static func headerBlock(_ fields: [(name: String, value: String)]) -> [UInt8] {
        var block: [UInt8] = []
        for (name, value) in fields {
            block.append(0x00)
            appendString(name, to: &block)
            appendString(value, to: &block)
        }
        return block
    }

    private static func appendString(_ string: String, to block: inout [UInt8]) {
        let bytes = Array(string.utf8)
        appendInteger(bytes.count, prefixBits: 7, to: &block)
        block += bytes
    }

    /// HPACK's prefixed integer (RFC 7541 §5.1), the flag bits above the prefix left zero.
    static func appendInteger(_ value: Int, prefixBits: Int, to block: inout [UInt8]) {
        let limit = (1 << prefixBits) - 1
        guard value >= limit else {
            block.append(UInt8(value))
            return
        }
        block.append(UInt8(limit))
        var rest = value - limit
        while rest >= 128 {
            block.append(UInt8(rest % 128 + 128))
            rest /= 128
        }
        block.append(UInt8(rest))
    }

    /// `grpc-message` is percent-encoded: bytes outside printable ASCII, and `%`, become `%XX`.
    static func percentEncoded(_ message: String) -> String {
        var encoded = ""
        for byte in message.utf8 {
            if byte >= 0x20 && byte <= 0x7E && byte != UInt8(ascii: "%") {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return encoded
    }
}
