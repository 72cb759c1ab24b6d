import ServiceLifecycle

/// Runs `action` at start and then every `interval` until graceful shutdown, and once more on
/// the way out (a last fsync, a last evaluation).
public struct PeriodicTask: Service {
    let interval: Duration
    let action: @Sendable () -> Void

    public init(interval: Duration, action: @escaping @Sendable () -> Void) {
        self.interval = interval
        self.action = action
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                action()
                try await Task.sleep(for: interval)
            }
        }
        action()
    }
}
