import PeriscopeModel
import ServiceLifecycle

/// Runs `action` at start and then every `interval` until graceful shutdown, and once more on
/// the way out (a last fsync, a last evaluation). The action blocks (disk, database), so it runs
/// through `BlockingIO`; the timeline is injected so tests advance time instead of sleeping.
public struct PeriodicTask: Service {
    let interval: Duration
    let timeline: Timeline
    let action: @Sendable () -> Void

    public init(interval: Duration, timeline: Timeline = .continuous, action: @escaping @Sendable () -> Void) {
        self.interval = interval
        self.timeline = timeline
        self.action = action
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await BlockingIO.run(action)
                try await timeline.sleep(for: interval)
            }
        }
        // Once more on the way out, even when the group is being cancelled: a last fsync must not
        // be skipped because the work would inherit the cancellation.
        let last = action
        await Task { try? await BlockingIO.run(last) }.value
    }
}
