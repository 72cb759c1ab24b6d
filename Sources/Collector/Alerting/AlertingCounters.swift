import PeriscopeModel
import Synchronization

/// How SLO evaluation and alert delivery went since the collector started, for `GET /metrics`:
/// the signals to alert on when alerting itself fails (as Prometheus's own
/// `prometheus_notifications_errors_total`). Counts saturate at `Int.max`.
final class AlertingCounters: Sendable {
    struct Snapshot: Sendable, Equatable {
        var evaluations = 0
        var failedEvaluations = 0
        var historyFailures = 0
        /// Per Alertmanager URL: posts it took and posts that failed.
        var posts: [String: Posts] = [:]
    }

    struct Posts: Sendable, Equatable {
        var sent = 0
        var failed = 0
    }

    private let state: Mutex<Snapshot>

    /// `alertmanagers` have their series from the start, at 0.
    init(alertmanagers: [String] = []) {
        var snapshot = Snapshot()
        for url in alertmanagers { snapshot.posts[url] = Posts() }
        state = Mutex(snapshot)
    }

    func evaluated(failed: Bool) {
        state.withLock { failed ? $0.failedEvaluations.addSaturating(1) : $0.evaluations.addSaturating(1) }
    }

    func historyFailed() { state.withLock { $0.historyFailures.addSaturating(1) } }

    func posted(to alertmanager: String, taken: Bool) {
        state.withLock { counts in
            var posts = counts.posts[alertmanager] ?? Posts()
            if taken { posts.sent.addSaturating(1) } else { posts.failed.addSaturating(1) }
            counts.posts[alertmanager] = posts
        }
    }

    var snapshot: Snapshot { state.withLock { $0 } }
}
