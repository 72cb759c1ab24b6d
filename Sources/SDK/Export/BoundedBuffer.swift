import Synchronization

/// A fixed-capacity FIFO shared by the producing application and the export loop.
/// `append` never waits and never grows past `capacity`: when full it refuses and the caller
/// counts the drop, which is how the SDK keeps memory bounded whatever the input rate. Only
/// batches handed back on shutdown (`restore`) may take it past `capacity`, never past twice it.
///
/// Items are kept in batches of `batchSize` (or of `capacity`, when that is smaller), the size
/// of one export request: the producer fills the open batch, and a full one is set aside as is.
/// A batch of up to `maxReservedPerBatch` items never grows by copying what is already queued,
/// and the export loop takes whole batches without slicing them.
final class BoundedBuffer<Element: Sendable>: Sendable {
    /// What became of an appended element.
    enum Outcome {
        /// Queued in the open batch.
        case queued
        /// Queued, and it filled its batch: time to wake the export loop.
        case filledBatch
        /// Refused: the buffer holds `capacity` elements.
        case full
    }

    private struct Storage {
        var full: [[Element]] = []
        var open: [Element] = []
        var count = 0
    }

    let capacity: Int
    let batchSize: Int
    private let storage = Mutex(Storage())

    /// What a new batch's storage is sized for: a whole batch, but never more than
    /// `maxReservedPerBatch` (past that the batch grows as it fills), so that a batch size of
    /// millions (or `Int.max`) costs nothing up front.
    private let reservedPerBatch: Int
    static var maxReservedPerBatch: Int { 65_536 }

    /// `batchSize` is at least 1; a batch counts as full at `min(batchSize, capacity)`, so a queue
    /// smaller than a batch still wakes the export loop once it is full instead of dropping
    /// until the next interval.
    init(capacity: Int, batchSize: Int) {
        self.capacity = max(1, capacity)
        self.batchSize = min(max(1, batchSize), self.capacity)
        reservedPerBatch = min(self.batchSize, Self.maxReservedPerBatch)
    }

    /// Queues `element` unless the buffer is full.
    func append(_ element: consuming Element) -> Outcome {
        // Moved into the buffer, not copied: the closure takes it out of the optional.
        var pending = Optional(element)
        return storage.withLock { storage in
            guard storage.count < capacity else { return .full }
            if storage.open.isEmpty { storage.open.reserveCapacity(reservedPerBatch) }
            storage.open.append(pending.take()!)
            storage.count += 1
            guard storage.open.count >= batchSize else { return .queued }
            var filled: [Element] = []
            swap(&filled, &storage.open)
            storage.full.append(filled)
            return .filledBatch
        }
    }

    /// Removes and returns everything queued as batches of at most `batchSize`, oldest first.
    /// The lock is held only to move the batches out, so producers never wait behind a copy.
    func takeAll() -> [[Element]] {
        storage.withLock { storage in
            var batches: [[Element]] = []
            swap(&batches, &storage.full)
            if !storage.open.isEmpty {
                var open: [Element] = []
                swap(&open, &storage.open)
                batches.append(open)
            }
            storage.count = 0
            return batches
        }
    }

    /// Puts a batch taken by `takeAll` back in front of the queue, to be taken first again; false
    /// (and nothing restored) when that would hold more than twice `capacity`. Restored elements
    /// were accepted once, so they may pass `capacity` (producers refilled the queue meanwhile),
    /// but only this far: the caller counts a batch that does not fit as lost.
    func restore(_ batch: [Element]) -> Bool {
        guard !batch.isEmpty else { return true }
        return storage.withLock { storage in
            // A capacity of `Int.max` ("no limit") must not overflow the doubling.
            let (twice, overflow) = capacity.multipliedReportingOverflow(by: 2)
            guard batch.count <= (overflow ? Int.max : twice) - storage.count else { return false }
            storage.full.insert(batch, at: 0)
            storage.count += batch.count
            return true
        }
    }

    /// How many elements are queued.
    var count: Int { storage.withLock { $0.count } }
}
