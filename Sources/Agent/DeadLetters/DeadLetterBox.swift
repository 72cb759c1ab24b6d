import Foundation
import PeriscopeTelemetry

/// Batches the collector refused for good (400, 413), kept with the reason so an operator can
/// look, fix and replay them: `<dir>/<time>-<id>.batch` (queue framing) and `.json` beside it.
struct DeadLetterBox: Sendable {
    let directory: String

    struct Letter: Codable, Equatable, Sendable {
        var batchID: String
        var signal: Signal
        var items: Int
        var status: Int
        var reason: String
        var rejectedAtUnixNano: UInt64
        var file: String
    }

    func store(_ batch: EncodedBatch, status: Int, reason: String, nowUnixNano: UInt64 = WallClock.nowUnixNano()) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let base = String(format: "%020llu-", nowUnixNano) + batch.id.filter { $0.isLetter || $0.isNumber || $0 == "-" }
        let batchPath = (directory as NSString).appendingPathComponent(base + ".batch")
        try Data(QueueRecord.encode(batch, enqueuedAtUnixNano: nowUnixNano)).write(to: URL(fileURLWithPath: batchPath), options: .atomic)
        let letter = Letter(
            batchID: batch.id, signal: batch.signal, items: batch.itemCount, status: status, reason: reason,
            rejectedAtUnixNano: nowUnixNano, file: base + ".batch")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(letter).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(base + ".json")), options: .atomic)
    }

    /// Every dead letter, oldest first.
    func list() -> [Letter] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent(name)) else { return nil }
            return try? JSONDecoder().decode(Letter.self, from: data)
        }
    }

    func batch(of letter: Letter) -> EncodedBatch? {
        guard let data = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent(letter.file)) else { return nil }
        return QueueRecord.decode(Array(data))?.batch
    }

    func remove(_ letter: Letter) {
        let base = (directory as NSString).appendingPathComponent(String(letter.file.dropLast(".batch".count)))
        unlink(base + ".batch")
        unlink(base + ".json")
    }
}
