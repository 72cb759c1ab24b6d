import NIOCore
import Synchronization

/// Buffers for an uploader's request bodies, kept from one request to the next. A batch body
/// is a few hundred KiB, over the size the agent's C heap hands out as a mapping of its own
/// (`LargeAllocationPolicy`), so a fresh buffer per request mapped, faulted in and unmapped
/// every page each time: under tail load the largest share of the agent's page faults. A kept
/// buffer the HTTP client still holds when it is reused gets fresh storage instead of being
/// written over (`ByteBuffer` is copy-on-write), so reuse cannot change a body in flight.
final class RequestBodyBuffers: Sendable {
    /// At most this many buffers wait between requests, each of at most `maxKeptCapacity`
    /// bytes (NIO rounds a buffer's capacity up to a power of two, so bodies up to 512 KiB):
    /// 1 MiB at most per uploader, one per collector URL.
    static let maxKept = 2
    static let maxKeptCapacity = 512 << 10

    private let idle = Mutex<[ByteBuffer]>([])

    /// A buffer holding `bytes`, reusing a kept one if there is one.
    func buffer(holding bytes: [UInt8]) -> ByteBuffer {
        guard var buffer = idle.withLock({ $0.popLast() }) else { return ByteBuffer(bytes: bytes) }
        buffer.clear()
        buffer.writeBytes(bytes)
        return buffer
    }

    /// How many buffers wait for a request.
    var keptCount: Int { idle.withLock { $0.count } }

    /// Keeps `buffer` for a later request, once the request that sent it has its answer.
    func recycle(_ buffer: ByteBuffer) {
        guard buffer.capacity <= Self.maxKeptCapacity else { return }
        idle.withLock { kept in
            if kept.count < Self.maxKept { kept.append(buffer) }
        }
    }
}
