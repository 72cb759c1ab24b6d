import PeriscopeCompression
import Synchronization

/// The zstd contexts the agent compresses received requests with, kept from use to use: a fresh
/// context per batch pays for its allocation and table setup, and a joined body for a copy of
/// every request. Callers compress at the same time (a large request in the task that decoded
/// it, the queue writer's group at its write), so each takes a context of its own for the call;
/// compression is synchronous, so no more are in use at once than threads compressing. At most
/// `keptContexts` stay for the next calls, the rest are freed. The price is their memory for the
/// agent's life once it has received over OTLP: about 2–3 MiB each at the default 1 MiB
/// `batch.max_bytes` (zstd's window and match tables plus the output buffer); an agent that only
/// tails files never uses them.
final class BatchCompressor: Sendable {
    /// Output buffers larger than this are freed after use: one outsized request (the queue's
    /// batches close at `BatchingConfiguration.maxBytes`, a request alone may be larger) does not
    /// pin its memory.
    static let retainedBytes = 2 << 20

    /// Contexts kept between calls: enough for two requests compressing at once (the two cores
    /// of a small host); a call beyond them makes a context for itself and frees it after.
    static let keptContexts = 2

    /// A request at least this large is compressed as a zstd frame of its own, by the request's
    /// task before it joins a write: at this size a frame of its own compresses within a
    /// fraction of a percent of a joined one, and its compression is not part of the write
    /// that others wait for.
    static let ownFrameBytes = 32 << 10

    /// A context out of the pool: only the caller that took it uses it until it is put back.
    private struct Context: @unchecked Sendable {
        let compressor: ZstdCompressor
    }

    private let idle = Mutex<[Context]>([])

    /// One zstd frame holding `parts` in order, as if they were joined first.
    func compress(_ parts: [[UInt8]]) -> [UInt8] {
        let context = idle.withLock { $0.popLast() } ?? Context(compressor: ZstdCompressor(level: Zstd.defaultLevel))
        defer {
            context.compressor.releaseScratch(above: Self.retainedBytes)
            idle.withLock { kept in
                if kept.count < Self.keptContexts { kept.append(context) }
            }
        }
        return context.compressor.compress(joining: parts)
    }
}
