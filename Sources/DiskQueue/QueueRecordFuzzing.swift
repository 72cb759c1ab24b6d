import PeriscopeDelivery
import PeriscopeModel

/// What must hold for queue records, the framing of every batch the agent keeps on disk: any
/// bytes are read as a record or refused as damage, never trapped on; a record that reads is
/// exactly what encoding its batch writes; and any batch survives encode then decode. Driven by
/// libFuzzer from the fuzz package and replayed in the tests.
public enum QueueRecordFuzzing {
    public static func check(_ input: UnsafeRawBufferPointer) {
        let bytes = Array(input)
        if let decoded = QueueRecord.decode(bytes), decoded.batch.id.utf8.elementsEqual(bytes[(QueueRecord.headerSize + QueueRecord.fixedPayloadBytes)...].prefix(decoded.batch.id.utf8.count)) {
            precondition(
                QueueRecord.encode(decoded.batch, enqueuedAtUnixNano: decoded.enqueuedAtUnixNano) == bytes,
                "a record that decodes is not what its batch encodes to")
        }
        _ = QueueRecord.header(bytes[...])
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
