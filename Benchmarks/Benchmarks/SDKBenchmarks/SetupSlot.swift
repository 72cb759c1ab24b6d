import Synchronization

/// Hands what a benchmark's `setup` built to its `teardown`, which ordo-one/benchmark calls
/// without the setup result, so the background task can be stopped and the counters printed.
final class SetupSlot<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)

    /// Keeps `newValue` and returns it, for use as the setup result.
    func store(_ newValue: Value) -> Value {
        value.withLock { $0 = newValue }
        return newValue
    }

    /// Removes and returns what `store` kept, if anything.
    func take() -> Value? {
        value.withLock { stored in
            defer { stored = nil }
            return stored
        }
    }
}
