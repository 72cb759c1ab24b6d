import CZlib
import PeriscopeDelivery
import PeriscopeModel

/// How one batch is framed on disk, in queue segments and dead letters alike:
///
///     magic "PSQR" | payload length (u32 LE) | CRC-32 of payload (u32 LE) | payload
///     payload = version (1) | signal (u8) | item count (u32 LE) | enqueued at, Unix ns (u64 LE)
///               | id length (u8) | id | body
///
/// The magic lets recovery find the next record after damage; the CRC catches flipped bits.
public enum QueueRecord {
    public static let magic: [UInt8] = Array("PSQR".utf8)
    public static let headerSize = 12
    public static let version: UInt8 = 1
    /// Larger lengths can only be damage: batches are capped well below this.
    public static let maxPayloadBytes = 256 << 20

    public static let fixedPayloadBytes = 15

    /// A framed record in two parts: the header with the payload's fields and ID, then the
    /// batch's body as it is, so appending it writes the body from the batch's own bytes.
    public struct Framed: Sendable {
        public let head: [UInt8]
        public let body: [UInt8]

        public var count: Int { head.count + body.count }
        /// The record as one run of bytes.
        public var bytes: [UInt8] { head + body }
    }

    public static func encode(_ batch: EncodedBatch, enqueuedAtUnixNano: UInt64) -> [UInt8] {
        frame(batch, enqueuedAtUnixNano: enqueuedAtUnixNano).bytes
    }

    public static func frame(_ batch: EncodedBatch, enqueuedAtUnixNano: UInt64) -> Framed {
        let id = Array(batch.id.utf8.prefix(255))
        let payloadCount = fixedPayloadBytes + id.count + batch.body.count
        // The header's checksum is filled in once the payload's fields are there.
        var head = magic
        head.reserveCapacity(headerSize + fixedPayloadBytes + id.count)
        appendUInt32(UInt32(payloadCount), to: &head)
        appendUInt32(0, to: &head)
        head.append(version)
        head.append(signalCode(batch.signal))
        appendUInt32(UInt32(clamping: batch.itemCount), to: &head)
        appendUInt32(UInt32(truncatingIfNeeded: enqueuedAtUnixNano), to: &head)
        appendUInt32(UInt32(truncatingIfNeeded: enqueuedAtUnixNano >> 32), to: &head)
        head.append(UInt8(id.count))
        head += id
        let crc = checksum(head[headerSize...], batch.body[...])
        for shift in 0..<4 { head[8 + shift] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * shift)) }
        return Framed(head: head, body: batch.body)
    }

    /// Reads the header at the start of `bytes`: the payload length and checksum, or `nil`
    /// if the magic or the length is wrong.
    public static func header(_ bytes: ArraySlice<UInt8>) -> (length: Int, checksum: UInt32)? {
        guard bytes.count >= headerSize, bytes.prefix(4).elementsEqual(magic) else { return nil }
        let start = bytes.startIndex
        let length = Int(readUInt32(bytes, at: start + 4))
        guard length >= fixedPayloadBytes, length <= maxPayloadBytes else { return nil }
        return (length, readUInt32(bytes, at: start + 8))
    }

    /// A record read back: the batch and when it was queued.
    public struct Decoded: Sendable {
        public var batch: EncodedBatch
        public var enqueuedAtUnixNano: UInt64
    }

    /// Most bytes a payload holds before its body: the fixed fields and the longest ID.
    public static let maxPrefixBytes = fixedPayloadBytes + 255

    /// How many bytes of a payload come before its body (its fixed fields and ID), read from
    /// its start; `nil` if `bytes` is too short to say.
    public static func prefixLength(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard bytes.count >= fixedPayloadBytes else { return nil }
        return fixedPayloadBytes + Int(bytes[bytes.startIndex + 14])
    }

    /// Decodes a payload whose checksum matches; `nil` for a damaged one.
    public static func decodePayload(_ payload: ArraySlice<UInt8>, checksum expected: UInt32) -> Decoded? {
        guard let prefixLength = prefixLength(payload), payload.count >= prefixLength else { return nil }
        let bodyStart = payload.startIndex + prefixLength
        return decodePayload(prefix: payload[..<bodyStart], body: Array(payload[bodyStart...]), checksum: expected)
    }

    /// Decodes a payload read in two parts, its `prefix` (`prefixLength` bytes) and its `body`,
    /// so a reader can read the body straight into the batch's own bytes; `nil` when the two
    /// together do not match the checksum or the prefix is damaged.
    public static func decodePayload(prefix: ArraySlice<UInt8>, body: [UInt8], checksum expected: UInt32) -> Decoded? {
        guard prefixLength(prefix) == prefix.count, checksum(prefix, body[...]) == expected else { return nil }
        let start = prefix.startIndex
        guard prefix[start] == version, let signal = signal(prefix[start + 1]) else { return nil }
        let count = Int(readUInt32(prefix, at: start + 2))
        let enqueued = UInt64(readUInt32(prefix, at: start + 6)) | UInt64(readUInt32(prefix, at: start + 10)) << 32
        let id = String(decoding: prefix[(start + fixedPayloadBytes)...], as: UTF8.self)
        return Decoded(batch: EncodedBatch(id: id, signal: signal, itemCount: count, body: body), enqueuedAtUnixNano: enqueued)
    }

    /// Decodes one whole framed record.
    public static func decode(_ bytes: [UInt8]) -> Decoded? {
        guard let header = header(bytes[...]), bytes.count == headerSize + header.length else { return nil }
        return decodePayload(bytes[headerSize...], checksum: header.checksum)
    }

    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        checksum(bytes, [])
    }

    /// The CRC-32 of `first` followed by `second`.
    static func checksum(_ first: ArraySlice<UInt8>, _ second: ArraySlice<UInt8>) -> UInt32 {
        // zlib answers 0 for a null pointer whatever the running CRC: an empty part is skipped.
        var crc = crc32(0, nil, 0)
        for part in [first, second] where !part.isEmpty {
            crc = part.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt($0.count)) }
        }
        return UInt32(crc)
    }

    private static func signalCode(_ signal: Signal) -> UInt8 {
        switch signal {
        case .traces: return 1
        case .logs: return 2
        case .metrics: return 3
        }
    }

    private static func signal(_ code: UInt8) -> Signal? {
        switch code {
        case 1: return .traces
        case 2: return .logs
        case 3: return .metrics
        default: return nil
        }
    }

    package static func appendUInt32(_ value: UInt32, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    package static func readUInt32(_ bytes: ArraySlice<UInt8>, at index: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[index + $1]) << UInt32(8 * $1) }
    }
}
