/// A sink with no queue: forwards each request to the collector before the client is
/// answered, so only the client's own retry covers an outage. For `--queue none` setups
/// (and tests) that want no disk state; the durable queue is the default.
struct DirectForwarder: BatchSink {
    let client: CollectorClient

    func accept(_ request: OTLPRequestPayload) async throws(DeliveryError) {
        try await client.send(EncodedBatch(request))
    }
}
