import Logging
import PeriscopeModel
import PeriscopeServer
import ServiceLifecycle

/// Drops whole day partitions older than the retention period: at start, then every
/// `checkInterval`. A day is dropped once all of it is older than the cutoff.
struct RetentionService: Service {
    let store: any TelemetryStore
    let retentionNanos: UInt64
    var checkInterval = Duration.seconds(600)
    var timeline = Timeline.continuous
    let logger: Logger

    func run() async throws {
        try await PeriodicTask(interval: checkInterval, timeline: timeline) { enforce(nowUnixNano: WallClock.nowUnixNano()) }.run()
    }

    func enforce(nowUnixNano: UInt64) {
        let cutoff = Self.cutoff(nowUnixNano: nowUnixNano, retentionNanos: retentionNanos)
        let dropped = store.dropData(olderThan: cutoff)
        if !dropped.isEmpty {
            logger.info("retention dropped partitions \(dropped.map(\.description).joined(separator: ", "))")
        }
    }

    /// Data whose day ended before this instant is past retention.
    static func cutoff(nowUnixNano: UInt64, retentionNanos: UInt64) -> UInt64 {
        nowUnixNano > retentionNanos ? nowUnixNano - retentionNanos : 0
    }
}
