#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file as the kernel knows it: device and inode. A path can point at another file after a
/// rotation; an inode can be reused after a delete — so an identity is always checked against
/// the file's `Fingerprint` too.
struct FileIdentity: Hashable, Sendable, Codable, CustomStringConvertible {
    var device: UInt64
    var inode: UInt64

    var description: String { "\(device):\(inode)" }

    init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    init(_ info: stat) {
        self.init(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }
}

/// A hash (FNV-1a 64) of a file's first bytes, up to `FileFingerprint.maxLength`. Two files with
/// the same identity but different fingerprints are different files (inode reuse, or a
/// truncated and rewritten file); two files with different identities and the same
/// fingerprint are copies (copytruncate).
struct FileFingerprint: Hashable, Sendable, Codable {
    static let maxLength = 1024

    var length: Int
    var hash: UInt64

    static let empty = FileFingerprint(length: 0, hash: 0xcbf2_9ce4_8422_2325)

    static func of<Bytes: Sequence>(_ bytes: Bytes) -> FileFingerprint where Bytes.Element == UInt8 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var length = 0
        for byte in bytes {
            guard length < maxLength else { break }
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            length += 1
        }
        return FileFingerprint(length: length, hash: hash)
    }

    /// Reads the first `length` bytes (default: up to `maxLength`) of an open file.
    static func read(fd: Int32, length: Int = maxLength) -> FileFingerprint? {
        let wanted = min(length, maxLength)
        guard wanted > 0 else { return .empty }
        var buffer = [UInt8](repeating: 0, count: wanted)
        var filled = 0
        while filled < wanted {
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + filled, wanted - filled, off_t(filled)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            filled += count
        }
        return of(buffer[0..<filled])
    }

    /// True when `other` (taken at a longer length, or the same) starts with the bytes this one hashed.
    func matches(fd: Int32) -> Bool {
        guard let current = FileFingerprint.read(fd: fd, length: length) else { return false }
        return current == self
    }
}

/// Opening a file the tailer reads.
enum TailedFileOpening {
    /// Opens `path` for reading when it is a regular file (and, if given, still `identity`);
    /// nil otherwise. Never blocks: a path that became a FIFO between the `stat` of discovery
    /// and this `open` would otherwise wait for a writer for ever (`O_NONBLOCK` has no effect on
    /// reading a regular file). `O_NOCTTY`: a terminal device never becomes the agent's.
    static func open(_ path: String, identity: FileIdentity? = nil) -> Int32? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, identity.map({ $0 == FileIdentity(info) }) ?? true else {
            Glibc.close(fd)
            errno = 0  // not a refusal: the caller's errno tells permissions apart
            return nil
        }
        return fd
    }
}
