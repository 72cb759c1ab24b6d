/// Asks `fetch` again every `interval` until `done` holds for its answer or `timeout` has passed,
/// and returns the last answer either way: the caller's expectations on it say what went wrong.
/// For a state another process reaches in its own time (stored, shipped, printed); every call
/// is bounded by `timeout`, never by the answer alone.
public func poll<Value>(
    every interval: Duration = .milliseconds(200), for timeout: Duration,
    _ fetch: () async throws -> Value, until done: (Value) throws -> Bool
) async throws -> Value {
    let deadline = ContinuousClock.now + timeout
    while true {
        let value = try await fetch()
        if try done(value) || ContinuousClock.now >= deadline { return value }
        try await Task.sleep(for: interval)
    }
}
