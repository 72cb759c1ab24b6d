import Logging
import PeriscopeModel
import PeriscopeServer
import ServiceLifecycle

/// Evaluates every SLO on a timer and records alert state changes with their time.
struct SLOEvaluationService: Service {
    let store: any TelemetryStore
    let alerts: AlertLog
    var interval = Duration.seconds(30)
    var timeline = Timeline.continuous
    let logger: Logger

    func run() async throws {
        try await PeriodicTask(interval: interval, timeline: timeline) { evaluate(nowUnixNano: WallClock.nowUnixNano()) }.run()
    }

    func evaluate(nowUnixNano: UInt64) {
        do {
            let statuses = try store.statuses(of: store.objectives, nowUnixNano: nowUnixNano)
            try alerts.record(statuses, atUnixNano: nowUnixNano)
            for status in statuses where !status.firing.isEmpty {
                logger.notice("SLO \(status.name) is burning its budget: \(status.firing.map { "\($0.severity) (\($0.longWindow)/\($0.shortWindow) > \($0.threshold))" }.joined(separator: ", "))")
            }
        } catch {
            logger.error("SLO evaluation failed: \(error)")
        }
    }
}
