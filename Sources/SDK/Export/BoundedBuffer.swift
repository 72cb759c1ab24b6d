import Synchronization

/// A fixed-capacity FIFO shared by the producing application and the export loop.
/// `append` never waits and never grows past `capacity`: when full it refuses and the caller
/// counts the drop, which is how the SDK keeps memory bounded whatever the input rate.
final class BoundedBuffer<Element: Sendable>: Sendable {
    let capacity: Int
    private let storage: Mutex<[Element]>

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        self.storage = Mutex([])
    }

    /// Appends `element` and returns the new count, or `nil` if the buffer was full.
    func append(_ element: Element) -> Int? {
        storage.withLock { items in
            guard items.count < capacity else { return nil }
            items.append(element)
            return items.count
        }
    }

    /// Removes and returns everything queued, oldest first. The lock is held only to swap the
    /// storage for a fresh one (allocated before), so producers never wait behind a copy.
    func takeAll(reserving reserve: Int) -> [Element] {
        var taken = [Element]()
        taken.reserveCapacity(reserve)
        storage.withLock { swap(&$0, &taken) }
        return taken
    }

    var count: Int { storage.withLock { $0.count } }
}
