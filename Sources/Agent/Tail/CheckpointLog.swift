import Foundation
import PeriscopeDiskQueue
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The tail checkpoints file, kept as a log of states: one `CheckedLine` per save holding the
/// state as JSON (`TailCheckpoints`). The last intact line is the current state; a line cut
/// short by a crash fails its CRC and the one before it stands.
///
/// A save appends one line and `fdatasync`s it, where replacing the file took a temporary file,
/// an `fsync`, a rename and a directory `fsync` — once per tailed batch. The file is replaced
/// atomically by one holding only the current state at the first save after start, after a
/// failed write, when the open file is no longer the one at the path or not the length this
/// log wrote (moved aside, deleted, truncated or written by someone else), and once the lines
/// outgrow `compactionBytes`, so it stays small. An append never follows a torn line: after a
/// crash the first save replaces the file.
///
/// An append rewrites the block that holds the end of the line before it, with the same bytes
/// there; this relies on the device writing each sector whole, so an interrupted append cannot
/// damage that earlier line. Files an older agent wrote (one JSON document) are read as they
/// are; an older agent cannot read this format.
final class CheckpointLog: Sendable {
    struct ReadError: Error, CustomStringConvertible {
        var description: String
    }

    /// Replace the file once it holds more than this many bytes and more than eight states.
    static let compactionBytes = 256 << 10

    private struct State {
        /// Open for appending at `size`; -1 when the next save replaces the file.
        var fd: Int32 = -1
        var size = 0
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
        let line = try Self.line(document)
        try state.withLock { state in
            if state.fd >= 0, state.size <= max(Self.compactionBytes, 8 * line.count),
                Self.isStill(at: path, fd: state.fd, size: state.size)
            {
                if let failure = Self.append(line, to: state.fd, at: state.size) {
                    Glibc.close(state.fd)
                    state.fd = -1
                    throw AtomicFile.WriteError(description: "cannot append to \(path): \(String(cString: strerror(failure)))")
                }
                // Moved aside or deleted meanwhile: the line is synced, but not where a restart reads.
                if Self.isStill(at: path, fd: state.fd, size: state.size + line.count) {
                    state.size += line.count
                    return
                }
            }
            if state.fd >= 0 { Glibc.close(state.fd) }
            state.fd = -1
            state.fd = try AtomicFile.replace(path, with: line)
            state.size = line.count
        }
    }

    /// Closes the file; a later save replaces it.
    func close() {
        state.withLock { state in
            if state.fd >= 0 { Glibc.close(state.fd) }
            state.fd = -1
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
            guard let json = CheckedLine.lastIntact(in: bytes) else {
                throw ReadError(description: "no intact line")
            }
            return try decoder.decode(TailCheckpoints.self, from: Data(json))
        } catch {
            throw ReadError(description: """
                tail checkpoints at \(path) are unreadable (\(error)); move the file aside to start over \
                (files are then read by each source's start_at)
                """)
        }
    }

    /// One line: the state as compact JSON, framed by `CheckedLine`.
    static func line(_ document: TailCheckpoints) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return CheckedLine.encode([UInt8](try encoder.encode(document)))
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
