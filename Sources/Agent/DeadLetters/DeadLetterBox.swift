import Foundation
import PeriscopeDelivery
import PeriscopeDiskQueue
import PeriscopeModel
import Synchronization

/// Batches the collector refused for good (400, 413), kept with the reason so an operator can
/// look, fix and replay them: `<dir>/<time>-<id>.batch` (queue framing) and `.json` beside it.
/// Both files are synced (and the directory) before `store` returns, so the queue may forget
/// the batch. The box holds at most `maxBytes`: past that, its oldest letters make room.
struct DeadLetterBox: Sendable {
    let directory: String
    var maxBytes = 64 << 20
    /// One letter is written at a time, so making room never deletes a letter being written.
    private let writing = WriteLock()

    init(directory: String, maxBytes: Int = 64 << 20) {
        self.directory = directory
        self.maxBytes = maxBytes
    }

    private final class WriteLock: Sendable {
        let mutex = Mutex(())
    }

    struct Letter: Codable, Equatable, Sendable {
        var batchID: String
        var signal: Signal
        var items: Int
        var status: Int
        var reason: String
        var rejectedAtUnixNano: UInt64
        var file: String
    }

    /// A refused batch larger than the whole box: it cannot be kept without emptying the box.
    struct LetterTooLarge: Error, CustomStringConvertible {
        var bytes: Int
        var limit: Int
        var description: String { "a letter of \(bytes) bytes is larger than the whole dead-letter box (\(limit) bytes; raise shipper.dead_letter_max_size)" }
    }

    /// Letters and the bytes their files take.
    struct Usage: Equatable, Sendable {
        var letters = 0
        var bytes = 0
    }

    /// Writes a letter durably; returns how many old letters were deleted to make room for it.
    /// A letter larger than the whole box is refused with an error that says so.
    @discardableResult
    func store(_ batch: EncodedBatch, status: Int, reason: String, nowUnixNano: UInt64 = WallClock.nowUnixNano()) throws -> Int {
        try writing.mutex.withLock { _ in try storeLocked(batch, status: status, reason: reason, nowUnixNano: nowUnixNano) }
    }

    private func storeLocked(_ batch: EncodedBatch, status: Int, reason: String, nowUnixNano: UInt64) throws -> Int {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let base = String(format: "%020llu-", nowUnixNano) + batch.id.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        let record = QueueRecord.encode(batch, enqueuedAtUnixNano: nowUnixNano)
        let letter = Letter(
            batchID: batch.id, signal: batch.signal, items: batch.itemCount, status: status, reason: String(reason.prefix(4096)),
            rejectedAtUnixNano: nowUnixNano, file: base + ".batch")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = Array(try encoder.encode(letter))
        guard record.count + json.count <= maxBytes else {
            throw LetterTooLarge(bytes: record.count + json.count, limit: maxBytes)
        }
        let evicted = makeRoom(for: record.count + json.count)
        // The batch first: a `.json` is what `list` shows, so it must never name a missing batch.
        try writeDurably(record, to: base + ".batch")
        try writeDurably(json, to: base + ".json")
        do {
            try syncDirectory(directory)
        } catch {
            // The record stays queued and is stored again later, under a new name: no copy stays behind.
            unlink(path(of: base + ".json"))
            unlink(path(of: base + ".batch"))
            throw error
        }
        return evicted
    }

    /// Deletes the oldest letters until `incoming` more bytes fit under `maxBytes`, and the
    /// temporary files a crash left (no letter is being written while this runs).
    private func makeRoom(for incoming: Int) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasSuffix(".tmp") { unlink(path(of: name)) }
        var entries = files()
        var total = entries.reduce(0) { $0 + $1.bytes }
        var evicted = 0
        while total + incoming > maxBytes, let oldest = entries.first {
            let stem = oldest.name.split(separator: ".").first.map(String.init) ?? oldest.name
            let group = entries.filter { $0.name.hasPrefix(stem + ".") }
            for entry in group { unlink(path(of: entry.name)) }
            total -= group.reduce(0) { $0 + $1.bytes }
            entries.removeAll { $0.name.hasPrefix(stem + ".") }
            evicted += 1
        }
        return evicted
    }

    /// The box's files, oldest first (names start with the rejection time).
    /// The path of a file of the box.
    private func path(of name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    private func files() -> [(name: String, bytes: Int)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".batch") || $0.hasSuffix(".json") }.sorted().map { name in
            var info = stat()
            let bytes = stat(path(of: name), &info) == 0 ? Int(info.st_size) : 0
            return (name, bytes)
        }
    }

    var usage: Usage {
        let entries = files()
        return Usage(letters: entries.filter { $0.name.hasSuffix(".json") }.count, bytes: entries.reduce(0) { $0 + $1.bytes })
    }

    /// Writes a temporary file, `fsync`s it and renames it into place (the caller syncs the directory).
    private func writeDurably(_ bytes: [UInt8], to name: String) throws {
        close(try AtomicFile.write(path(of: name), bytes))
    }

    /// Every dead letter, oldest first.
    func list() -> [Letter] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: path(of: name)) else { return nil }
            return try? JSONDecoder().decode(Letter.self, from: data)
        }
    }

    func batch(of letter: Letter) -> EncodedBatch? {
        guard let data = FileManager.default.contents(atPath: path(of: letter.file)) else { return nil }
        return QueueRecord.decode(Array(data))?.batch
    }

    func remove(_ letter: Letter) {
        let base = path(of: String(letter.file.dropLast(".batch".count)))
        unlink(base + ".batch")
        unlink(base + ".json")
    }
}
