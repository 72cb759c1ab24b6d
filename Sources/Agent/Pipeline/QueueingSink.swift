import NIOPosix
import PeriscopeTelemetry

/// The default sink: batches per signal, then appends to the durable queue. A request is
/// acknowledged once its batch is on disk; a full queue answers `queueFull` (→ 429).
struct QueueingSink: BatchSink {
    let queue: DiskQueue
    private let batchers: [Signal: Batcher]

    init(queue: DiskQueue, batching: BatchingConfiguration) {
        self.queue = queue
        var batchers = [Signal: Batcher]()
        for signal in Signal.allCases {
            batchers[signal] = Batcher(signal: signal, configuration: batching) { (batch) async throws(DeliveryError) in
                try await Self.append(batch, to: queue)
            }
        }
        self.batchers = batchers
    }

    func accept(_ request: OTLPRequestPayload) async throws(DeliveryError) {
        guard request.batch.itemCount > 0 else { return }
        try await batchers[request.batch.signal]!.add(protobuf: request.protobufBody, items: request.batch.itemCount)
    }

    /// Writes what the batchers hold now; for graceful shutdown.
    func flush() async {
        for batcher in batchers.values { await batcher.flush() }
    }

    /// Appends off the cooperative pool: the append may `fdatasync`.
    static func append(_ batch: EncodedBatch, to queue: DiskQueue) async throws(DeliveryError) {
        let outcome: Result<Void, QueueError>
        do {
            outcome = try await NIOThreadPool.singleton.runIfActive {
                Result { () throws(QueueError) in try queue.append(batch) }
            }
        } catch {
            throw .storage("\(error)")
        }
        switch outcome {
        case .success: return
        case .failure(.full): throw .queueFull(retryAfterSeconds: 5)
        case .failure(.tooLarge(let bytes, let limit)): throw .rejected(status: 413, message: "a batch of \(bytes) bytes exceeds the queue's max_size \(limit)")
        case .failure(.io(let reason)): throw .storage(reason)
        }
    }
}
