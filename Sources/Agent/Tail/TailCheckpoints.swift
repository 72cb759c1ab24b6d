import Foundation
import PeriscopeDiskQueue
#if canImport(Glibc)
import Glibc
#endif

/// Where each tailed file has been read to, persisted in `DIR/tail-checkpoints.json`.
///
/// Written write-ahead: before a range of a file is appended to the queue, the entry records it
/// as `pendingEnd` (with the batch ID derived from it); once the append returned, `offset`
/// moves to `pendingEnd`. After a `kill -9` between the two, the same bytes are sent again
/// under the same batch ID, which the collector drops as a duplicate — so a restart neither
/// loses nor duplicates a line.
struct TailCheckpoints: Codable, Equatable, Sendable {
    struct Entry: Codable, Equatable, Sendable {
        var identity: FileIdentity
        var fingerprint: FileFingerprint
        /// A random tag fixed when the file was first seen: batch IDs are unique across inode reuse.
        var tag: String
        var path: String
        var source: String
        /// Everything before this offset is in the queue.
        var offset: UInt64
        /// A range [offset, pendingEnd) that may or may not be in the queue yet.
        var pendingEnd: UInt64?

        /// The batch ID of the range [start, end): the same after any restart.
        func batchID(start: UInt64, end: UInt64) -> String { "tail-\(tag)-\(start)-\(end)" }
    }

    /// A stream the tailer read to its end and let go of: a released file, or the content a
    /// truncation ended. Remembered so that a copy or a late-growing rotation of it is read from
    /// where it ended, never again from its start.
    struct FinishedStream: Codable, Equatable, Sendable {
        var identity: FileIdentity
        var fingerprint: FileFingerprint
        var tag: String
        /// Everything before this offset was read and is in the queue (or pending under `tag`).
        var end: UInt64
        var finishedAtUnixNano: UInt64

        /// True when the open file `fd` (with `identity`) continues this stream: the same inode
        /// with the same first bytes, or another file with the same full-length fingerprint (a copy).
        func isContinued(by identity: FileIdentity, fd: Int32) -> Bool {
            guard identity == self.identity || fingerprint.length == FileFingerprint.maxLength else { return false }
            return fingerprint.matches(fd: fd)
        }
    }

    var version = 1
    var files: [Entry] = []
    /// Sources that have polled at least once: `start_at` only applies to a source's first poll.
    var startedSources: [String] = []
    /// When this state was taken: a rotated file modified later and not listed here was never read.
    var savedAtUnixNano: UInt64?
    /// Recently finished streams, oldest first.
    var finished: [FinishedStream] = []

    init() {}

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(Int.self, forKey: .version)
        files = try container.decode([Entry].self, forKey: .files)
        startedSources = try container.decode([String].self, forKey: .startedSources)
        savedAtUnixNano = try container.decodeIfPresent(UInt64.self, forKey: .savedAtUnixNano)
        finished = try container.decodeIfPresent([FinishedStream].self, forKey: .finished) ?? []
    }

    /// The order of `files` the engine writes and a replayed delta keeps: by path, then inode and device.
    static func order(_ a: Entry, _ b: Entry) -> Bool {
        (a.path, a.identity.inode, a.identity.device) < (b.path, b.identity.inode, b.identity.device)
    }

    /// Whether `files` are in `order` (a delta can then say a change exactly).
    static func isOrdered(_ files: [Entry]) -> Bool {
        zip(files, files.dropFirst()).allSatisfy { order($0, $1) }
    }

    /// The current state in the file at `path` (`CheckpointLog`); empty when there is none.
    static func load(_ path: String) throws -> TailCheckpoints {
        try CheckpointLog.load(path)
    }

    /// Replaces the file at `path` with one holding only this state.
    func save(_ path: String) throws {
        let log = CheckpointLog(path: path)
        defer { log.close() }
        try log.save(self)
    }
}

/// Crash-safe replacement of a small file.
enum AtomicFile {
    struct WriteError: Error, CustomStringConvertible {
        var description: String
    }

    /// Writes a temporary file, fsyncs it, renames it over `path` and fsyncs the directory;
    /// returns the new file's descriptor, open for writing.
    static func replace(_ path: String, with data: [UInt8]) throws -> Int32 {
        let fd = try write(path, data)
        // Every later append to this file counts on the rename being durable.
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try syncDirectory(directory.isEmpty ? "." : directory)
        } catch {
            close(fd)
            throw WriteError(description: error.description)
        }
        return fd
    }

    /// Writes `data` to `path + ".tmp"`, fsyncs it and renames it over `path`, leaving no
    /// temporary file behind on failure; returns the new file's descriptor, open for writing.
    /// The directory is not synced: one sync can serve several files (`replace` syncs it).
    static func write(_ path: String, _ data: [UInt8]) throws -> Int32 {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteError(description: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        func fail(_ what: String) -> WriteError {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temporary)
            return WriteError(description: "cannot \(what) \(temporary): \(reason)")
        }
        var written = 0
        let total = data.count
        let failed: Bool = data.withUnsafeBytes { raw in
            while written < total {
                let count = Glibc.write(fd, raw.baseAddress! + written, total - written)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return true }
                written += count
            }
            return false
        }
        if failed { throw fail("write") }
        guard fsync(fd) == 0 else { throw fail("sync") }
        guard rename(temporary, path) == 0 else { throw fail("rename") }
        return fd
    }
}
