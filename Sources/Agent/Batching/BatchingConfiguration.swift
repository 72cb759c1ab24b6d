/// When a batch is closed: whichever limit is reached first.
struct BatchingConfiguration: Equatable, Sendable {
    var maxItems = 8192
    var maxBytes = 1 << 20
    var maxDelay = Duration.milliseconds(200)
}
