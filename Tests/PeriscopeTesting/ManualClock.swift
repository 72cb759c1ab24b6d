import Synchronization

/// A clock that moves only when a test moves it, so code that waits on time is driven
/// instead of slept on. Sleepers wake, in deadline order, once `advance` passes their
/// deadline; a cancelled sleeper wakes at once with `CancellationError`.
public final class ManualClock: Clock, Sendable {
    public struct Instant: InstantProtocol {
        public var offset: Duration

        public init(offset: Duration) { self.offset = offset }
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        var id: Int
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Sleeper] = []
        var nextID = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .zero }

    /// How many tasks are asleep on this clock: lets a test wait until the code under test is
    /// waiting before it advances time.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Result<Void, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return nil
                }
                if let resumeNow { continuation.resume(with: resumeNow) }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward, waking every sleeper whose deadline has come.
    public func advance(by duration: Duration) {
        let woken = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in woken { sleeper.continuation.resume() }
    }

    /// Waits (yielding, bounded by `attempts`) until `count` tasks sleep on this clock.
    public func waitForSleepers(_ count: Int = 1, attempts: Int = 100_000) async -> Bool {
        for _ in 0..<attempts {
            if sleeperCount >= count { return true }
            await Task.yield()
        }
        return sleeperCount >= count
    }

    /// Runs `body` and moves time forward in `step`s whenever something sleeps on this clock,
    /// until `body` returns; gives back its result and how far time moved. After each step it
    /// waits a millisecond of real time, so real work (a refused connection, a write) keeps up
    /// with the clock: a deadline of many steps is not overtaken by one slow system call.
    public func drive<T: Sendable>(step: Duration, _ body: @escaping @Sendable () async -> T) async -> (value: T, elapsed: Duration) {
        let finished = Flag()
        let task = Task {
            let value = await body()
            finished.set()
            return value
        }
        var elapsed = Duration.zero
        while !finished.isSet {
            if sleeperCount > 0 {
                advance(by: step)
                elapsed += step
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return (await task.value, elapsed)
    }
}

/// A one-way flag shared between tasks.
private final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
