#if canImport(Glibc) && canImport(CMalloc)
import CMalloc
#endif

/// How the agent's C heap treats large buffers.
///
/// glibc serves a buffer of 128 KiB or more from a mapping of its own, but once such a buffer
/// is freed it raises that threshold (up to 32 MiB), and from then on batch bodies and read
/// buffers are carved from the heap's arenas, which keep their pages after the buffers are
/// freed. Fixing the threshold at 256 KiB hands every larger buffer back to the system as soon
/// as it is freed: under tail load the agent keeps about 2 MiB less resident (BENCHMARKS.md).
/// An operator's own `MALLOC_MMAP_THRESHOLD_` (or `glibc.malloc.mmap_threshold` tunable) wins.
enum LargeAllocationPolicy {
    static let mmapThreshold: Int32 = 256 << 10

    static func apply(environment: [String: String]) {
        #if canImport(Glibc) && canImport(CMalloc)
        guard environment["MALLOC_MMAP_THRESHOLD_"] == nil,
              !(environment["GLIBC_TUNABLES"] ?? "").contains("mmap_threshold") else { return }
        _ = mallopt(M_MMAP_THRESHOLD, mmapThreshold)
        #endif
    }
}
