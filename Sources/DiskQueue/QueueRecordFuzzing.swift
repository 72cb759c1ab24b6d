import PeriscopeDelivery
import PeriscopeModel

/// What must hold for queue records, the framing of every batch the agent keeps on disk: any
/// bytes are read as a record or refused as damage, never trapped on; a record that reads is
/// exactly what encoding its batch writes, whether read whole or as fields then body; and any
/// batch survives encode then decode. Driven by
/// libFuzzer from the fuzz package and replayed in the tests.
public enum QueueRecordFuzzing {
    public static func check(_ input: UnsafeRawBufferPointer) {
        let bytes = Array(input)
        if let decoded = QueueRecord.decode(bytes), decoded.batch.id.utf8.elementsEqual(bytes[(QueueRecord.headerSize + QueueRecord.fixedPayloadBytes)...].prefix(decoded.batch.id.utf8.count)) {
            precondition(
                QueueRecord.encode(decoded.batch, enqueuedAtUnixNano: decoded.enqueuedAtUnixNano) == bytes,
                "a record that decodes is not what its batch encodes to")
        }
        // The queue reads a payload's fields and ID, then its body on its own: that must decode
        // exactly as a plain reading of the whole payload does.
        if let header = QueueRecord.header(bytes[...]), bytes.count == QueueRecord.headerSize + header.length {
            let payload = bytes[QueueRecord.headerSize...]
            let reference = referenceDecode(payload, checksum: header.checksum)
            let decoded = QueueRecord.prefixLength(payload).flatMap { prefixLength in
                prefixLength <= payload.count
                    ? QueueRecord.decodePayload(
                        prefix: payload.prefix(prefixLength), body: Array(payload.dropFirst(prefixLength)), checksum: header.checksum)
                    : nil
            }
            precondition(decoded?.batch == reference?.batch, "a payload read as fields and body decodes otherwise than whole")
            precondition(decoded?.enqueuedAtUnixNano == reference?.enqueuedAtUnixNano, "a payload's queue time reads otherwise in two parts")
        }
        // The bytes as a batch: the first picks the signal, the next the ID's length.
        guard bytes.count >= 2 else { return }
        let signal = Signal.allCases[Int(bytes[0]) % Signal.allCases.count]
        let idLength = min(Int(bytes[1]), bytes.count - 2)
        let id = String(decoding: bytes[2..<(2 + idLength)].map { $0 & 0x7F }, as: UTF8.self)
        let batch = EncodedBatch(id: id, signal: signal, itemCount: bytes.count, body: Array(bytes[(2 + idLength)...]))
        let record = QueueRecord.encode(batch, enqueuedAtUnixNano: UInt64(bytes.count) << 40)
        guard let back = QueueRecord.decode(record) else { preconditionFailure("an encoded record does not decode") }
        precondition(back.batch == batch && back.enqueuedAtUnixNano == UInt64(bytes.count) << 40, "a batch changed through its record")
    }

    /// The payload layout read field by field from one run of bytes, its CRC taken whole: what
    /// the queue's two-part reading must agree with.
    private static func referenceDecode(_ payload: ArraySlice<UInt8>, checksum: UInt32) -> (batch: EncodedBatch, enqueuedAtUnixNano: UInt64)? {
        let bytes = Array(payload)
        guard bytes.count >= QueueRecord.fixedPayloadBytes, QueueRecord.checksum(bytes[...]) == checksum, bytes[0] == QueueRecord.version
        else { return nil }
        let signals: [UInt8: Signal] = [1: .traces, 2: .logs, 3: .metrics]
        guard let signal = signals[bytes[1]] else { return nil }
        let little = { (at: Int, count: Int) in (0..<count).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << UInt64(8 * $1) } }
        let idLength = Int(bytes[14])
        guard bytes.count >= QueueRecord.fixedPayloadBytes + idLength else { return nil }
        let id = String(decoding: bytes[QueueRecord.fixedPayloadBytes..<(QueueRecord.fixedPayloadBytes + idLength)], as: UTF8.self)
        let body = Array(bytes[(QueueRecord.fixedPayloadBytes + idLength)...])
        return (EncodedBatch(id: id, signal: signal, itemCount: Int(little(2, 4)), body: body), little(6, 8))
    }
}
