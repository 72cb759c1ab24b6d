import PeriscopeCompression
import Synchronization

/// The zstd context the queue writer compresses its batches of joined requests with, kept from
/// write to write: a fresh context per batch pays for its allocation and table setup, and the
/// joined body for a copy of every request. Writes never overlap (one leader at a time), so the
/// lock is never contended; it is there so the type is safe to share. The price is the context's
/// memory for the agent's life once it has received over OTLP: about 2–3 MiB at the default
/// 1 MiB `batch.max_bytes` (zstd's window and match tables plus the output buffer); an agent that
/// only tails files never uses it.
final class BatchCompressor: Sendable {
    /// Output buffers larger than this are freed after use: one outsized request (the queue's
    /// batches close at `BatchingConfiguration.maxBytes`, a request alone may be larger) does not
    /// pin its memory.
    static let retainedBytes = 2 << 20

    private let compressor = Mutex(ZstdCompressor(level: Zstd.defaultLevel))

    /// One zstd frame holding `parts` in order, as if they were joined first.
    func compress(_ parts: [[UInt8]]) -> [UInt8] {
        compressor.withLock { compressor in
            defer { compressor.releaseScratch(above: Self.retainedBytes) }
            return compressor.compress(joining: parts)
        }
    }
}
