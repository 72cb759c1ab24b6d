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
    /// One letter is written at a time, so making room never deletes a letter being written;
    /// the lock also holds the box's index.
    private let writing = WriteLock()

    init(directory: String, maxBytes: Int = 64 << 20) {
        self.directory = directory
        self.maxBytes = maxBytes
    }

    private final class WriteLock: Sendable {
        let mutex = Mutex(Held())
        /// What `usage` reports, set after every change of the index: read without waiting for
        /// a store (which holds `mutex` through its syncs).
        let usage = Mutex(Usage())
    }

    private struct Held {
        var index: Index?
        /// Times the directory was read for the index (tests).
        var scans = 0
    }

    /// The box's letters, oldest first, with the bytes of their two files, as of the directory's
    /// last change: a store reads the directory only when something else changed it (`dlq replay`
    /// or `purge` in another process, an operator) or `rescanNanos` after the last read, not once
    /// or twice per letter, so a box of 100,000 letters costs a store what an empty one does.
    /// About 100 bytes of memory per letter.
    private struct Index {
        /// A letter's name without `.batch` or `.json`, and the bytes of its files.
        var letters: [(stem: String, bytes: Int)]
        /// Letters before this position were evicted (dropped from `letters` in bulk).
        var first = 0
        var total: Int
        /// The directory's modification time when the index was last true.
        var directoryTime: timespec
        /// When the directory was last read.
        var scannedAtUnixNano: UInt64

        var usage: Usage { Usage(letters: letters.count - first, bytes: total) }

        /// Adds a letter written by the box, in name order.
        mutating func insert(_ letter: (stem: String, bytes: Int)) {
            var position = letters.count
            while position > first, letters[position - 1].stem > letter.stem { position -= 1 }
            letters.insert(letter, at: position)
            total += letter.bytes
        }

        mutating func dropEvicted() {
            guard first > 1_024, first * 2 > letters.count else { return }
            letters.removeFirst(first)
            first = 0
        }
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
        try writing.mutex.withLock { held in try storeLocked(batch, status: status, reason: reason, nowUnixNano: nowUnixNano, held: &held) }
    }

    private func storeLocked(_ batch: EncodedBatch, status: Int, reason: String, nowUnixNano: UInt64, held: inout Held) throws -> Int {
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
        var current = currentIndex(&held, nowUnixNano: nowUnixNano, force: false)
        var (evicted, stale) = makeRoom(for: record.count + json.count, in: &current)
        if stale {
            // A letter to evict was gone already: something else changed the box; read it again.
            current = currentIndex(&held, nowUnixNano: nowUnixNano, force: true)
            evicted += makeRoom(for: record.count + json.count, in: &current).evicted
        }
        set(current, in: &held)
        // The batch first: a `.json` is what `list` shows, so it must never name a missing batch.
        try writeDurably(record, to: base + ".batch")
        try writeDurably(json, to: base + ".json")
        do {
            try syncDirectory(directory)
        } catch {
            // The record stays queued and is stored again later, under a new name: no copy stays behind.
            unlink(path(of: base + ".json"))
            unlink(path(of: base + ".batch"))
            held.index = nil
            throw error
        }
        current.insert((base, record.count + json.count))
        current.directoryTime = directoryTime() ?? timespec()
        set(current, in: &held)
        return evicted
    }

    /// Deletes the oldest letters until `incoming` more bytes fit under `maxBytes` (no letter is
    /// being written while this runs); how many, and whether it stopped at a letter gone already
    /// (the index is stale: letters it counts may be gone, so it must not decide what else to delete).
    private func makeRoom(for incoming: Int, in index: inout Index) -> (evicted: Int, stale: Bool) {
        var evicted = 0
        while index.total + incoming > maxBytes, index.first < index.letters.count {
            let letter = index.letters[index.first]
            let gone = [".batch", ".json"].map { unlink(path(of: letter.stem + $0)) != 0 && errno == ENOENT }
            index.total -= letter.bytes
            index.first += 1
            if gone.allSatisfy({ $0 }) { return (evicted, true) }
            evicted += 1
        }
        index.dropEvicted()
        return (evicted, false)
    }

    private func set(_ index: Index, in held: inout Held) {
        held.index = index
        writing.usage.withLock { $0 = index.usage }
    }

    /// The longest an index goes without reading the directory again.
    static let rescanNanos: UInt64 = 30_000_000_000

    /// The index, read again from the directory when `force`d, when anything but this box changed
    /// it since, or (given the time `nowUnixNano`) `rescanNanos` after the last read (and then the
    /// temporary files a crash left are deleted). File systems with coarse timestamps can give another process's change within
    /// a clock tick of this box's last write the same time; the index may then count letters
    /// already gone until its next read (an eviction that finds a letter gone reads it again).
    private func currentIndex(_ held: inout Held, nowUnixNano: UInt64?, force: Bool) -> Index {
        let time = directoryTime()
        if !force, let index = held.index, let time, index.directoryTime.tv_sec == time.tv_sec, index.directoryTime.tv_nsec == time.tv_nsec {
            guard let now = nowUnixNano else { return index }
            if now >= index.scannedAtUnixNano, now - index.scannedAtUnixNano < Self.rescanNanos { return index }
        }
        held.scans += 1
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasSuffix(".tmp") { unlink(path(of: name)) }
        var letters: [(stem: String, bytes: Int)] = []
        for file in files() {
            let stem = String(file.name.split(separator: ".", maxSplits: 1).first ?? Substring(file.name))
            if letters.last?.stem == stem { letters[letters.count - 1].bytes += file.bytes } else { letters.append((stem, file.bytes)) }
        }
        let index = Index(
            letters: letters, total: letters.reduce(0) { $0 + $1.bytes }, directoryTime: directoryTime() ?? timespec(),
            scannedAtUnixNano: nowUnixNano ?? WallClock.nowUnixNano())
        set(index, in: &held)
        return index
    }

    /// How many times the directory was read for the index.
    var directoryScans: Int { writing.mutex.withLock { $0.scans } }

    private func directoryTime() -> timespec? {
        var info = stat()
        guard stat(directory, &info) == 0 else { return nil }
        return info.st_mtim
    }

    /// The path of a file of the box.
    private func path(of name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// The box's files, oldest first (names start with the rejection time).
    private func files() -> [(name: String, bytes: Int)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".batch") || $0.hasSuffix(".json") }.sorted().map { name in
            var info = stat()
            let bytes = stat(path(of: name), &info) == 0 ? Int(info.st_size) : 0
            return (name, bytes)
        }
    }

    /// Letters and bytes in the box. Never waits for a store in progress: while one holds the
    /// box, this is what the box held before it; otherwise the index is brought up to date when
    /// the directory changed (a purge by another process shows).
    var usage: Usage {
        let refreshed = writing.mutex.withLockIfAvailable { held -> Usage in
            currentIndex(&held, nowUnixNano: nil, force: false).usage
        }
        return refreshed ?? writing.usage.withLock { $0 }
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
