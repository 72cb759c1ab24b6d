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

    public static func encode(_ batch: EncodedBatch, enqueuedAtUnixNano: UInt64) -> [UInt8] {
        let id = Array(batch.id.utf8.prefix(255))
        let payloadCount = fixedPayloadBytes + id.count + batch.body.count
        // Written in one buffer: the header's checksum is filled in once the payload is there.
        var out = magic
        out.reserveCapacity(headerSize + payloadCount)
        appendUInt32(UInt32(payloadCount), to: &out)
        appendUInt32(0, to: &out)
        out.append(version)
        out.append(signalCode(batch.signal))
        appendUInt32(UInt32(clamping: batch.itemCount), to: &out)
        appendUInt32(UInt32(truncatingIfNeeded: enqueuedAtUnixNano), to: &out)
        appendUInt32(UInt32(truncatingIfNeeded: enqueuedAtUnixNano >> 32), to: &out)
        out.append(UInt8(id.count))
        out += id
        out += batch.body
        let crc = checksum(out[headerSize...])
        for shift in 0..<4 { out[8 + shift] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * shift)) }
        return out
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

    /// Decodes a payload whose checksum matches; `nil` for a damaged one.
    public static func decodePayload(_ payload: ArraySlice<UInt8>, checksum expected: UInt32) -> Decoded? {
        guard payload.count >= fixedPayloadBytes, checksum(payload) == expected else { return nil }
        let start = payload.startIndex
        guard payload[start] == version, let signal = signal(payload[start + 1]) else { return nil }
        let count = Int(readUInt32(payload, at: start + 2))
        let enqueued = UInt64(readUInt32(payload, at: start + 6)) | UInt64(readUInt32(payload, at: start + 10)) << 32
        let idLength = Int(payload[start + 14])
        let bodyStart = start + fixedPayloadBytes + idLength
        guard payload.count >= fixedPayloadBytes + idLength else { return nil }
        let id = String(decoding: payload[(start + fixedPayloadBytes)..<bodyStart], as: UTF8.self)
        return Decoded(
            batch: EncodedBatch(id: id, signal: signal, itemCount: count, body: Array(payload[bodyStart...])),
            enqueuedAtUnixNano: enqueued)
    }

    /// Decodes one whole framed record.
    public static func decode(_ bytes: [UInt8]) -> Decoded? {
        guard let header = header(bytes[...]), bytes.count == headerSize + header.length else { return nil }
        return decodePayload(bytes[headerSize...], checksum: header.checksum)
    }

    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
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
