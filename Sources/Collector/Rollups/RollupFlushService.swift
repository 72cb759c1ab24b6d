import Logging
import PeriscopeModel
import PeriscopeServer
import ServiceLifecycle

/// Merges what the partitions stored since their last flush into the rollup rows every
/// `interval` (and once on shutdown), so rollups trail ingest by about a second; signals and
/// SLO questions flush before they read, so they never see a stale rollup.
struct RollupFlushService: Service {
    let store: any TelemetryStore
    var interval = Duration.seconds(1)
    var timeline = Timeline.continuous
    let logger: Logger
    /// A flush failing every second (a full disk) logs once a minute.
    let failureLog = LogThrottle()

    func run() async throws {
        try await PeriodicTask(interval: interval, timeline: timeline) {
            do {
                try store.flushRollups()
            } catch {
                if let held = failureLog.admit() {
                    logger.error("rollup flush failed (nothing is lost: the stored spans and the journal stay unmerged; retrying every \(interval)): \(error)\(LogThrottle.heldBack(held, "failures"))")
                }
            }
        }.run()
    }
}
