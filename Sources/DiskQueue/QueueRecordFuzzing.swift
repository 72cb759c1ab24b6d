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
        // exactly as the whole payload does.
        if let header = QueueRecord.header(bytes[...]), bytes.count == QueueRecord.headerSize + header.length {
            let payload = bytes[QueueRecord.headerSize...]
            let whole = QueueRecord.decodePayload(payload, checksum: header.checksum)
            if let prefixLength = QueueRecord.prefixLength(payload), prefixLength <= payload.count {
                let split = QueueRecord.decodePayload(
                    prefix: payload.prefix(prefixLength), body: Array(payload.dropFirst(prefixLength)), checksum: header.checksum)
                precondition(
                    split?.batch == whole?.batch && split?.enqueuedAtUnixNano == whole?.enqueuedAtUnixNano,
                    "a payload read as fields and body decodes otherwise than whole")
            } else {
                precondition(whole == nil, "a payload too short for its fields and ID decodes")
            }
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
}
