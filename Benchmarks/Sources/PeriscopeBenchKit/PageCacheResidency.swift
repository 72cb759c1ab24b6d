#if canImport(Glibc)
import Glibc
#endif

/// How much of a file sits in the page cache (`mincore` over a read-only mapping of it).
///
/// A binary whose pages are all cached gets the cached pages around each fault mapped too, so
/// the same process shows up to a few MiB more file-backed RSS than when its binary is read from
/// disk. A memory figure is comparable only with another taken in the same cache state; the
/// benchmarks record it beside the figure.
public struct PageCacheResidency: Codable, Sendable {
    public var cachedMiB: Double
    public var fileMiB: Double

    public var percent: Double { fileMiB > 0 ? cachedMiB / fileMiB * 100 : 0 }

    public var summary: String {
        String(format: "%.1f of %.1f MiB (%.0f %%)", cachedMiB, fileMiB, percent)
    }

    /// The residency of the file at `path` now; nil when it cannot be opened or mapped.
    public static func of(path: String) -> PageCacheResidency? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_size > 0 else { return nil }
        let size = Int(status.st_size)
        guard let mapping = mmap(nil, size, PROT_READ, MAP_SHARED, descriptor, 0), mapping != MAP_FAILED else { return nil }
        defer { munmap(mapping, size) }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let pages = (size + pageSize - 1) / pageSize
        var vector = [UInt8](repeating: 0, count: pages)
        guard mincore(mapping, size, &vector) == 0 else { return nil }
        let cached = vector.reduce(0) { $0 + Int($1 & 1) }
        return PageCacheResidency(cachedMiB: Double(cached * pageSize) / 1_048_576, fileMiB: Double(size) / 1_048_576)
    }
}
