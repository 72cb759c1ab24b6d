import NIOCore
import Synchronization

/// Buffers for request bodies, kept from one request to the next. A batch body is a few hundred
/// KiB, over the size the agent's C heap hands out as a mapping of its own
/// (`LargeAllocationPolicy`), so a fresh buffer per request mapped, faulted in and unmapped
/// every page each time: under tail load the largest share of the agent's page faults. A
/// buffer the HTTP client still holds when it is asked for again is copied, not overwritten
/// (`ByteBuffer` is copy-on-write), so reuse cannot change a body in flight.
final class RequestBodyBuffers: Sendable {
    /// At most this many buffers wait between requests, each of at most `maxKeptCapacity`
    /// bytes: what the agent keeps resident for this, 1 MiB at most.
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
