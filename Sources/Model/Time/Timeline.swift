/// An injected clock read as the time elapsed since the timeline began. Its instants are plain
/// `Duration`s, so a type that keeps deadlines (a circuit breaker, a shipper's drain deadline, a
/// tailed file's last growth) stores no clock-specific type, and any `Clock` can drive it:
/// `ContinuousClock` in production, a manual clock in tests, which then advance time instead of
/// sleeping.
public struct Timeline: Sendable {
    private let elapsed: @Sendable () -> Duration
    private let sleeper: @Sendable (Duration) async throws -> Void

    /// A timeline that begins now on `clock`.
    public init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let origin = clock.now
        elapsed = { origin.duration(to: clock.now) }
        sleeper = { deadline in try await clock.sleep(until: origin.advanced(by: deadline), tolerance: nil) }
    }

    /// Real time, unaffected by changes to the wall clock.
    public static var continuous: Timeline { Timeline(ContinuousClock()) }

    /// Time elapsed since the timeline began.
    public var now: Duration { elapsed() }

    /// Returns once `now` reaches `deadline`; throws `CancellationError` if the task is cancelled first.
    public func sleep(until deadline: Duration) async throws { try await sleeper(deadline) }

    /// Returns once `duration` has passed; throws `CancellationError` if the task is cancelled first.
    public func sleep(for duration: Duration) async throws { try await sleeper(now + duration) }
}
