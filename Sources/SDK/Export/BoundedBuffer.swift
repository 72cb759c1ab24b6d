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

    /// Removes and returns up to `maxCount` of the oldest elements.
    func take(max maxCount: Int) -> [Element] {
        storage.withLock { items in
            if items.count <= maxCount {
                let all = items
                items.removeAll(keepingCapacity: true)
                return all
            }
            let batch = Array(items.prefix(maxCount))
            items.removeFirst(maxCount)
            return batch
        }
    }

    var count: Int { storage.withLock { $0.count } }
}
