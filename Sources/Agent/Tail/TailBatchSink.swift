import PeriscopeDelivery

/// Where the tailer appends its batches. Unlike `BatchSink`, the caller picks the batch ID:
/// a range of a file always travels under the same ID, so a range re-sent after a crash is
/// dropped by the collector's de-duplication instead of stored twice.
protocol TailBatchSink: Sendable {
    /// Returns once the batch is in the durable queue; `.queueFull` when it has no room.
    func append(_ batch: EncodedBatch) async throws(DeliveryError)
}
