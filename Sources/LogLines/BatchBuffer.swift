import PeriscopeOTLP

/// The batch being written: raw memory that grows as records are added through
/// `PresizedProtobufWriter`s, with room kept in front for headers known only at the end.
package final class BatchBuffer {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    package private(set) var count = 0
    /// Where the bytes start (after `writeFront`).
    package private(set) var start = 0

    package init(capacity: Int = 1 << 16) {
        base = .allocate(capacity: capacity)
        self.capacity = capacity
    }

    deinit { base.deallocate() }

    /// Empties the buffer, keeping `headroom` bytes in front for `writeFront`.
    package func reset(headroom: Int) {
        reserve(headroom)
        start = headroom
        count = headroom
    }

    /// Appends exactly `size` bytes, written by `body`.
    package func append(size: Int, _ body: (inout PresizedProtobufWriter) -> Void) {
        reserve(count + size)
        var cursor = PresizedProtobufWriter(start: base + count, count: size)
        body(&cursor)
        precondition(cursor.isAtEnd, "protobuf written does not match its computed size")
        count += size
    }

    /// Puts `header` in front of what was appended (it must fit in the headroom).
    package func writeFront(_ header: [UInt8]) {
        precondition(header.count <= start, "header larger than the headroom kept for it")
        start -= header.count
        header.withUnsafeBufferPointer { (base + start).update(from: $0.baseAddress!, count: $0.count) }
    }

    package func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: base + start, count: count - start))
    }

    private func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        let grown = max(needed, capacity * 2)
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        bigger.update(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity = grown
    }
}
