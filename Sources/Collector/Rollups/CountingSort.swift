/// Sorts small integers (bucket indices, request numbers by minute) the way a flush needs:
/// a few by insertion, many by counting when their keys span a narrow range, the rest by
/// comparison. A flush sorts hundreds of thousands of short lists, so the counting buffers
/// are kept from one sort to the next instead of allocated for each. The sort is stable, so
/// sorting by one key and then by another orders by both.
struct CountingSort {
    private var starts: [Int] = []
    private var original: [Int32] = []
    private var positions: [Int] = []

    /// Sorts `items` by `key`, items of equal keys kept in their order. `span` is the widest key
    /// range worth a counting sort.
    mutating func sort(_ items: inout UnsafeMutableBufferPointer<Int32>, span: Int, by key: (Int32) -> Int64) {
        guard items.count > 1 else { return }
        if items.count <= 32 {
            for position in items.indices.dropFirst() {
                let item = items[position]
                let itemKey = key(item)
                var hole = position
                while hole > 0 && key(items[hole - 1]) > itemKey {
                    items[hole] = items[hole - 1]
                    hole -= 1
                }
                items[hole] = item
            }
            return
        }
        var low = Int64.max
        var high = Int64.min
        for item in items {
            let itemKey = key(item)
            low = min(low, itemKey)
            high = max(high, itemKey)
        }
        if low == high { return }
        original.removeAll(keepingCapacity: true)
        original.append(contentsOf: items)
        guard high.subtractingReportingOverflow(low).partialValue < Int64(span), high - low >= 0 else {
            positions.removeAll(keepingCapacity: true)
            positions.append(contentsOf: items.indices)
            positions.sort { (key(original[$0]), $0) < (key(original[$1]), $1) }
            for (slot, position) in positions.enumerated() { items[slot] = original[position] }
            return
        }
        starts.removeAll(keepingCapacity: true)
        starts.append(contentsOf: repeatElement(0, count: Int(high - low) + 2))
        for item in original { starts[Int(key(item) - low) + 1] += 1 }
        for index in 1..<starts.count { starts[index] += starts[index - 1] }
        for item in original {
            let slot = Int(key(item) - low)
            items[starts[slot]] = item
            starts[slot] += 1
        }
    }
}
