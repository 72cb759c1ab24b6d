import Foundation

/// A queue segment file through POSIX calls: appends at the end, reads at offsets, and
/// `fdatasync` when the fsync policy asks for it.
package final class SegmentFile {
    package let path: String
    private let descriptor: Int32
    private(set) var size: Int

    package struct IOError: Error, CustomStringConvertible {
        package var description: String
    }

    package init(path: String, create: Bool) throws(IOError) {
        let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let descriptor = open(path, flags, 0o644)
        guard descriptor >= 0 else { throw IOError(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        self.path = path
        self.descriptor = descriptor
        var info = stat()
        fstat(descriptor, &info)
        self.size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    /// Appends `parts` one after another, as one record: if a write fails, the file is cut back
    /// to where it ended before.
    package func append(_ parts: [UInt8]...) throws(IOError) {
        var written = 0
        for part in parts {
            var done = 0
            while done < part.count {
                let result = part.withUnsafeBytes { pwrite(descriptor, $0.baseAddress! + done, $0.count - done, off_t(size + written + done)) }
                guard result > 0 else {
                    if result < 0 && errno == EINTR { continue }
                    // Leave no half record behind: recovery would skip it, but the next append would follow garbage.
                    _ = ftruncate(descriptor, off_t(size))
                    throw IOError(description: "write to \(path) failed: \(String(cString: strerror(errno)))")
                }
                done += result
            }
            written += part.count
        }
        size += written
    }

    package func read(at offset: Int, count: Int) -> [UInt8] {
        guard count > 0, offset < size else { return [] }
        // Read straight into uninitialised storage: zero-filling a batch's bytes first only to
        // overwrite them cost a pass over every batch the shipper took.
        return [UInt8](unsafeUninitializedCapacity: min(count, size - offset)) { buffer, initialized in
            var done = 0
            while done < buffer.count {
                let result = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
                if result < 0 && errno == EINTR { continue }
                guard result > 0 else { break }
                done += result
            }
            initialized = done
        }
    }

    /// The open descriptor, for `sync(descriptor:)` outside the queue's lock.
    package var fileDescriptor: Int32 { descriptor }

    /// `fdatasync` of an open segment's descriptor; the failure's description, or nil.
    package static func sync(descriptor: Int32) -> String? {
        while dataSync(descriptor) != 0 {
            if errno == EINTR { continue }
            return "fdatasync failed: \(String(cString: strerror(errno)))"
        }
        return nil
    }

    /// Makes the appends so far durable. A failure means they may not be, and must not be
    /// reported as written (after a failed `fdatasync` the kernel may have dropped the pages).
    package func sync() throws(IOError) {
        while dataSync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw IOError(description: "fdatasync of \(path) failed: \(String(cString: strerror(errno)))")
        }
    }

    package func truncate(to length: Int) {
        ftruncate(descriptor, off_t(length))
        size = length
    }
}

/// fsyncs a directory so a file created, renamed or removed in it survives a power loss.
///
/// A directory this process may not open for reading (`EACCES`, `EPERM`), or a file system
/// that does not sync directories (`EINVAL`, `ENOTSUP`, `EROFS`), is left as it is: nothing more can be done there, and
/// refusing every write would stop the agent for good. Any other failure (`EIO`, `ENOSPC`)
/// throws, since the entry may not be on disk.
package func syncDirectory(_ path: String) throws(SegmentFile.IOError) {
    let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard descriptor >= 0 else {
        if errno == EACCES || errno == EPERM { return }
        throw SegmentFile.IOError(description: "cannot open the directory \(path) to sync it: \(String(cString: strerror(errno)))")
    }
    defer { close(descriptor) }
    while fsync(descriptor) != 0 {
        if errno == EINTR { continue }
        if errno == EINVAL || errno == ENOTSUP || errno == EROFS { return }
        throw SegmentFile.IOError(description: "cannot sync the directory \(path): \(String(cString: strerror(errno)))")
    }
}

/// `fdatasync` where the system has it (Linux); elsewhere `F_FULLFSYNC`, which also flushes the
/// drive's cache (Darwin's `fsync` does not).
private func dataSync(_ descriptor: Int32) -> Int32 {
    #if canImport(Darwin)
    fcntl(descriptor, F_FULLFSYNC)
    #else
    fdatasync(descriptor)
    #endif
}
