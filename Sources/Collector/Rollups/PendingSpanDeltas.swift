/// The rollup deltas of the span batches a partition stored since its last rollup flush. The
/// span blocks are their journal (`rollup_progress` names the last block merged): the deltas
/// are kept in memory only so that a flush need not read the blocks back. After a start, or
/// past `limit` requests (flushes failing for a long time), they are not all known, and the
/// next flush reads them from the blocks instead.
struct PendingSpanDeltas: Sendable {
    /// Requests kept before the deltas are dropped and left to the blocks (a flush normally
    /// takes a second's worth).
    let limit: Int

    private(set) var deltas: [RollupDeltas] = []
    private var requests = 0
    /// Whether `deltas` holds every batch stored since the last flush.
    private(set) var isComplete: Bool

    init(isComplete: Bool, limit: Int = 1_000_000) {
        self.isComplete = isComplete
        self.limit = limit
    }

    /// Adds a stored batch's deltas; call in the order batches commit.
    mutating func add(_ batch: RollupDeltas) {
        guard isComplete, !batch.isEmpty else { return }
        requests += batch.requests.count
        if requests > limit {
            self = PendingSpanDeltas(isComplete: false, limit: limit)
        } else {
            deltas.append(batch)
        }
    }
}
