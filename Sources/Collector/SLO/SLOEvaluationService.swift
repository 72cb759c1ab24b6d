import Logging
import PeriscopeModel
import PeriscopeQueryAPI
import PeriscopeServer
import ServiceLifecycle

/// Evaluates every SLO on a timer and records alert state changes with their time. Collectors
/// sharing a store take turns (`AlertLog.claimEvaluation`): one evaluation per interval in all.
/// With an Alertmanager configured, the collector that evaluated tells it which alerts fire
/// and which stopped (`AlertmanagerAlerts`), from a task of its own, so a slow Alertmanager
/// never delays the next evaluation.
struct SLOEvaluationService: Service {
    let store: any TelemetryStore
    var interval = Duration.seconds(30)
    var timeline = Timeline.continuous
    var alertmanager: AlertmanagerNotifier?
    /// Where evaluations are counted for `/metrics`.
    var counters: AlertingCounters?
    let logger: Logger

    func run() async throws {
        guard let alertmanager else {
            try await PeriodicTask(interval: interval, timeline: timeline) { evaluate(nowUnixNano: WallClock.nowUnixNano()) }.run()
            return
        }
        // Only the newest evaluation waits while a post is under way: an older one is stale.
        let (evaluations, continuation) = AsyncStream.makeStream(of: ([QueryAPI.SLOStatus], UInt64).self, bufferingPolicy: .bufferingNewest(1))
        let interval = interval
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                var alerts = AlertmanagerAlerts(evaluationInterval: interval)
                for await (statuses, now) in evaluations {
                    await alertmanager.send(alerts.alerts(for: statuses, nowUnixNano: now))
                }
            }
            try? await PeriodicTask(interval: interval, timeline: timeline) {
                let now = WallClock.nowUnixNano()
                if let statuses = evaluate(nowUnixNano: now) { continuation.yield((statuses, now)) }
            }.run()
            // The last evaluation's alerts are still sent on the way out.
            continuation.finish()
        }
    }

    /// Evaluates when it is this collector's turn; the statuses, or nil when it was not or failed.
    @discardableResult
    func evaluate(nowUnixNano: UInt64) -> [QueryAPI.SLOStatus]? {
        do {
            // A little less than the interval, so collectors whose timers drift apart still take every turn.
            guard !store.objectives.isEmpty, try store.alerts.claimEvaluation(of: store.objectives, minimumGap: interval * 0.8) else { return nil }
            let statuses: [QueryAPI.SLOStatus]
            do {
                statuses = try store.statuses(of: store.objectives, nowUnixNano: nowUnixNano)
            } catch {
                // Another collector (if any) takes the next turn rather than waiting for this one to recover.
                try? store.alerts.releaseEvaluation(of: store.objectives)
                // Counted only here, with the turn taken: a store that refuses the claim itself
                // fails alike on every collector, and the count is of turns taken.
                counters?.evaluated(failed: true)
                throw error
            }
            counters?.evaluated(failed: false)
            for status in statuses where !status.firing.isEmpty {
                logger.notice("SLO \(status.name) is burning its budget: \(status.firing.map { "\($0.severity) (\($0.longWindow)/\($0.shortWindow) > \($0.threshold))" }.joined(separator: ", "))")
            }
            do {
                try store.alerts.record(statuses, atUnixNano: nowUnixNano)
            } catch {
                // The history misses this change; the alerts still go out (a disk too full to
                // record them is no reason to stop paging). The turn is kept: the evaluation
                // itself worked, and another collector evaluating again would send twice.
                logger.error("SLO alert history not recorded: \(error)")
                counters?.historyFailed()
            }
            return statuses
        } catch {
            logger.error("SLO evaluation failed: \(error)")
            return nil
        }
    }
}
