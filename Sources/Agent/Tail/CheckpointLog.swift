import Foundation
import PeriscopeDiskQueue
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The tail checkpoints file, kept as a log: its first line holds a whole state as JSON
/// (`TailCheckpoints`), and each later line what one save changed (`Delta`: the files whose
/// entries changed, those gone, and the rest of the state when it changed). Replayed in order, the
/// lines give the last state saved; a line cut short by a crash fails its CRC and the state before
/// it stands. A save thus writes what changed — one file's entry per tailed batch — not every
/// followed file's: with thousands of files the whole state is hundreds of KiB.
///
/// A save appends one line and `fdatasync`s it, where replacing the file took a temporary file,
/// an `fsync`, a rename and a directory `fsync` — once per tailed batch. The file is replaced
/// atomically by one holding only the current state at the first save after start, after a
/// failed write, when the open file is no longer the one at the path or not the length this
/// log wrote (moved aside, deleted, truncated or written by someone else), and once the lines
/// outgrow `compactionBytes` and eight times the whole state, so it stays small. An append never
/// follows a torn line: after a crash the first save replaces the file.
///
/// An append rewrites the block that holds the end of the line before it, with the same bytes
/// there; this relies on the device writing each sector whole, so an interrupted append cannot
/// damage that earlier line. Files an older agent wrote (one JSON document, or lines of whole
/// states) are read as they are; an older agent cannot read this format.
final class CheckpointLog: Sendable {
    struct ReadError: Error, CustomStringConvertible {
        var description: String
    }

    /// Replace the file once it holds more than this many bytes and more than eight whole states.
    static let compactionBytes = 256 << 10

    /// What one save changed, against the state saved before it.
    struct Delta: Codable, Equatable {
        /// Entries new or changed, by `identity`.
        var files: [TailCheckpoints.Entry] = []
        /// Files no longer followed.
        var removed: [FileIdentity] = []
        var startedSources: [String]?
        var finished: [TailCheckpoints.FinishedStream]?
        var savedAtUnixNano: UInt64?
    }

    /// A delta line's JSON: `{"delta":{…}}`; a whole state's has no `delta` key.
    private struct DeltaLine: Codable {
        var delta: Delta?
    }

    private struct State {
        /// Open for appending at `size`; -1 when the next save replaces the file.
        var fd: Int32 = -1
        var size = 0
        /// The state the file holds now (what replaying it gives), while it is open for appending.
        var saved: TailCheckpoints?
        /// The length of the whole state the file starts with.
        var stateBytes = 0
    }

    let path: String
    private let state = Mutex(State())

    init(path: String) {
        self.path = path
    }

    deinit {
        close()
    }

    /// Persists `document`: appended and synced, or the file replaced. Throws when it may not
    /// be on disk; the next save then replaces the file.
    func save(_ document: TailCheckpoints) throws {
        try state.withLock { state in
            if state.fd >= 0, let saved = state.saved, let delta = Self.delta(from: saved, to: document),
                Self.isStill(at: path, fd: state.fd, size: state.size)
            {
                let line = try Self.line(delta)
                if state.size + line.count <= max(Self.compactionBytes, 8 * state.stateBytes) {
                    if let failure = Self.append(line, to: state.fd, at: state.size) {
                        Glibc.close(state.fd)
                        (state.fd, state.saved) = (-1, nil)
                        throw AtomicFile.WriteError(description: "cannot append to \(path): \(String(cString: strerror(failure)))")
                    }
                    // Moved aside or deleted meanwhile: the line is synced, but not where a restart reads.
                    if Self.isStill(at: path, fd: state.fd, size: state.size + line.count) {
                        state.size += line.count
                        state.saved = document
                        return
                    }
                }
            }
            if state.fd >= 0 { Glibc.close(state.fd) }
            (state.fd, state.saved) = (-1, nil)
            let line = try Self.line(document)
            state.fd = try AtomicFile.replace(path, with: line)
            (state.size, state.stateBytes, state.saved) = (line.count, line.count, document)
        }
    }

    /// What turns `saved` into `document` when replayed (`Replay`); nil when no delta can say it
    /// exactly (another version, a file listed twice, files not in `TailCheckpoints.order`):
    /// the file is then replaced.
    static func delta(from saved: TailCheckpoints, to document: TailCheckpoints) -> Delta? {
        guard document.version == saved.version, TailCheckpoints.isOrdered(document.files) else { return nil }
        var before: [FileIdentity: TailCheckpoints.Entry] = [:]
        for entry in saved.files { before[entry.identity] = entry }
        var now = Set<FileIdentity>()
        var delta = Delta()
        for entry in document.files {
            guard now.insert(entry.identity).inserted else { return nil }
            if before[entry.identity] != entry { delta.files.append(entry) }
        }
        delta.removed = saved.files.map(\.identity).filter { !now.contains($0) }
        if document.startedSources != saved.startedSources { delta.startedSources = document.startedSources }
        if document.finished != saved.finished { delta.finished = document.finished }
        if document.savedAtUnixNano != saved.savedAtUnixNano {
            // Nil is the one value a delta cannot say.
            guard let savedAt = document.savedAtUnixNano else { return nil }
            delta.savedAtUnixNano = savedAt
        }
        return delta
    }

    /// A whole state and the deltas after it, applied in order: the files by identity while
    /// deltas come, in `TailCheckpoints.order` once read (every delta was of files in that order).
    private struct Replay {
        private var base: TailCheckpoints
        private var files: [FileIdentity: TailCheckpoints.Entry]?

        init(_ state: TailCheckpoints) { base = state }

        mutating func apply(_ delta: Delta) {
            if files == nil {
                var byIdentity: [FileIdentity: TailCheckpoints.Entry] = [:]
                for entry in base.files { byIdentity[entry.identity] = entry }
                files = byIdentity
            }
            for identity in delta.removed { files?[identity] = nil }
            for entry in delta.files { files?[entry.identity] = entry }
            if let started = delta.startedSources { base.startedSources = started }
            if let finished = delta.finished { base.finished = finished }
            if let savedAt = delta.savedAtUnixNano { base.savedAtUnixNano = savedAt }
        }

        /// The state: the whole one as written when no delta followed it.
        var state: TailCheckpoints {
            guard let files else { return base }
            var state = base
            state.files = files.values.sorted(by: TailCheckpoints.order)
            return state
        }
    }

    /// Closes the file; a later save replaces it. A file with deltas is first replaced by one
    /// holding the whole last state, as an older agent wrote it (so that going back a version
    /// after a clean stop keeps the offsets); if that fails, the deltas stay and read as before.
    func close() {
        state.withLock { state in
            if state.fd >= 0, let saved = state.saved, state.size > state.stateBytes, let line = try? Self.line(saved),
               Self.isStill(at: path, fd: state.fd, size: state.size), let replaced = try? AtomicFile.replace(path, with: line) {
                Glibc.close(replaced)
            }
            if state.fd >= 0 { Glibc.close(state.fd) }
            (state.fd, state.saved) = (-1, nil)
        }
    }

    /// The current state in the file at `path`; empty when there is no file.
    static func load(_ path: String) throws -> TailCheckpoints {
        guard FileManager.default.fileExists(atPath: path) else { return TailCheckpoints() }
        return try read([UInt8](Data(contentsOf: URL(fileURLWithPath: path))), path: path)
    }

    /// The current state in a file's bytes. An empty file is refused: no agent writes one.
    static func read(_ bytes: [UInt8], path: String) throws -> TailCheckpoints {
        let decoder = JSONDecoder()
        do {
            let first = bytes.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
            guard first != nil else { throw ReadError(description: "the file is empty") }
            if first == UInt8(ascii: "{") {
                return try decoder.decode(TailCheckpoints.self, from: Data(bytes))
            }
            // Whole states and deltas in order; after a line that fails its CRC, deltas are not
            // applied until the next whole state.
            var replay: Replay?
            var broken = false
            for payload in CheckedLine.payloads(in: bytes) {
                guard let payload else {
                    broken = true
                    continue
                }
                if let delta = try decoder.decode(DeltaLine.self, from: Data(payload)).delta {
                    if !broken { replay?.apply(delta) }
                } else {
                    replay = Replay(try decoder.decode(TailCheckpoints.self, from: Data(payload)))
                    broken = false
                }
            }
            guard let replay else { throw ReadError(description: "no intact line") }
            return replay.state
        } catch {
            throw ReadError(description: """
                tail checkpoints at \(path) are unreadable (\(error)); move the file aside to start over \
                (files are then read by each source's start_at)
                """)
        }
    }

    /// One line: the state as compact JSON, framed by `CheckedLine`.
    static func line(_ document: TailCheckpoints) throws -> [UInt8] { try framed(document) }

    /// One line: a delta as compact JSON, framed by `CheckedLine`.
    static func line(_ delta: Delta) throws -> [UInt8] { try framed(DeltaLine(delta: delta)) }

    private static func framed(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return CheckedLine.encode([UInt8](try encoder.encode(value)))
    }

    /// The open file is still the one at `path` (not moved aside, deleted, or replaced by
    /// another) and `size` bytes long (not truncated, overwritten longer or appended to by another).
    private static func isStill(at path: String, fd: Int32, size: Int) -> Bool {
        var open = stat()
        var named = stat()
        guard fstat(fd, &open) == 0, open.st_nlink > 0, open.st_size == off_t(size),
            stat(path, &named) == 0
        else { return false }
        return open.st_dev == named.st_dev && open.st_ino == named.st_ino
    }

    /// Writes `line` at `offset` and syncs it; the `errno` of a failure, or nil.
    private static func append(_ line: [UInt8], to fd: Int32, at offset: Int) -> Int32? {
        var written = 0
        let failure: Int32? = line.withUnsafeBytes { raw in
            while written < raw.count {
                let count = pwrite(fd, raw.baseAddress! + written, raw.count - written, off_t(offset + written))
                if count < 0 && errno == EINTR { continue }
                if count < 0 { return errno }
                if count == 0 { return EIO }
                written += count
            }
            return nil
        }
        if let failure { return failure }
        while fdatasync(fd) != 0 {
            if errno != EINTR { return errno }
        }
        return nil
    }
}
