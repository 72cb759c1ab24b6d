import Logging
import PeriscopeModel
import PeriscopeQueryAPI
import PeriscopeServer
import ServiceLifecycle

/// Evaluates every SLO on a timer and records alert state changes with their time. Collectors
/// sharing a store take turns (`AlertLog.claimEvaluation`): one evaluation per interval in all.
struct SLOEvaluationService: Service {
    let store: any TelemetryStore
    var interval = Duration.seconds(30)
    var timeline = Timeline.continuous
    let logger: Logger

    func run() async throws {
        try await PeriodicTask(interval: interval, timeline: timeline) { evaluate(nowUnixNano: WallClock.nowUnixNano()) }.run()
    }

    func evaluate(nowUnixNano: UInt64) {
        do {
            // A little less than the interval, so collectors whose timers drift apart still take every turn.
            guard !store.objectives.isEmpty, try store.alerts.claimEvaluation(of: store.objectives, minimumGap: interval * 0.8) else { return }
            let statuses: [QueryAPI.SLOStatus]
            do {
                statuses = try store.statuses(of: store.objectives, nowUnixNano: nowUnixNano)
                try store.alerts.record(statuses, atUnixNano: nowUnixNano)
            } catch {
                // Another collector (if any) takes the next turn rather than waiting for this one to recover.
                try? store.alerts.releaseEvaluation(of: store.objectives)
                throw error
            }
            for status in statuses where !status.firing.isEmpty {
                logger.notice("SLO \(status.name) is burning its budget: \(status.firing.map { "\($0.severity) (\($0.longWindow)/\($0.shortWindow) > \($0.threshold))" }.joined(separator: ", "))")
            }
        } catch {
            logger.error("SLO evaluation failed: \(error)")
        }
    }
}
