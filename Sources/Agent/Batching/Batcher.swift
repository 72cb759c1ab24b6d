import PeriscopeTelemetry

/// Gathers requests of one signal into batches (by items, bytes and time) and writes each
/// batch to the queue once, answering every request in it together. Concatenated
/// `Export*ServiceRequest` protobufs are a valid request (repeated fields merge), so
/// joining costs no re-encoding.
actor Batcher {
    let signal: Signal
    let configuration: BatchingConfiguration
    private let write: @Sendable (EncodedBatch) async throws(DeliveryError) -> Void
    private var bodies: [[UInt8]] = []
    private var items = 0
    private var bytes = 0
    private var waiters: [CheckedContinuation<Result<Void, DeliveryError>, Never>] = []
    private var generation = 0

    init(signal: Signal, configuration: BatchingConfiguration, write: @escaping @Sendable (EncodedBatch) async throws(DeliveryError) -> Void) {
        self.signal = signal
        self.configuration = configuration
        self.write = write
    }

    /// Adds one request's protobuf; returns once the batch holding it is queued.
    func add(protobuf: [UInt8], items count: Int) async throws(DeliveryError) {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, DeliveryError>, Never>) in
            bodies.append(protobuf)
            items += count
            bytes += protobuf.count
            waiters.append(continuation)
            if items >= configuration.maxItems || bytes >= configuration.maxBytes {
                Task { await self.flush() }
            } else if waiters.count == 1 {
                let generation = self.generation
                let delay = configuration.maxDelay
                Task {
                    try? await Task.sleep(for: delay)
                    await self.flush(ifGeneration: generation)
                }
            }
        }
        try result.get()
    }

    private func flush(ifGeneration expected: Int) async {
        guard generation == expected else { return }
        await flush()
    }

    /// Queues what is gathered now (also used on shutdown).
    func flush() async {
        guard !waiters.isEmpty else { return }
        let body = bodies.count == 1 ? bodies[0] : Array(bodies.joined())
        let batch = EncodedBatch(
            id: EncodedBatch.newID(), signal: signal, itemCount: items, body: Zstd.compress(body))
        let waiting = waiters
        bodies = []
        items = 0
        bytes = 0
        waiters = []
        generation += 1
        let result: Result<Void, DeliveryError>
        do {
            try await write(batch)
            result = .success(())
        } catch {
            result = .failure(error)
        }
        for waiter in waiting { waiter.resume(returning: result) }
    }
}
