import PeriscopeDelivery

/// Where the tailer appends its batches. Unlike `BatchSink`, the caller picks the batch ID:
/// a range of a file always travels under the same ID, so a range re-sent after a crash is
/// dropped by the collector's de-duplication instead of stored twice.
protocol TailBatchSink: Sendable {
    /// Returns once the batch is in the durable queue; `.queueFull` when it has no room.
    func append(_ batch: EncodedBatch) async throws(DeliveryError)

    /// Appends `batches` in order and returns once each is in the durable queue or refused:
    /// one outcome per batch. A sink that can makes them durable together (one sync).
    func append(contentsOf batches: [EncodedBatch]) async -> [Result<Void, DeliveryError>]
}

extension TailBatchSink {
    func append(contentsOf batches: [EncodedBatch]) async -> [Result<Void, DeliveryError>] {
        await appendEach(batches)
    }

    /// `append(contentsOf:)` for a sink that cannot do better: each batch on its own, in order.
    func appendEach(_ batches: [EncodedBatch]) async -> [Result<Void, DeliveryError>] {
        var outcomes: [Result<Void, DeliveryError>] = []
        for batch in batches {
            do throws(DeliveryError) {
                try await append(batch)
                outcomes.append(.success(()))
            } catch {
                outcomes.append(.failure(error))
            }
        }
        return outcomes
    }
}
