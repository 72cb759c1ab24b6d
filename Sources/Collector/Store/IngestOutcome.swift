/// What happened to an ingested batch.
enum IngestOutcome: Equatable, Sendable {
    case stored(items: Int)
    /// The batch ID was stored before: nothing was written again.
    case duplicate
}
