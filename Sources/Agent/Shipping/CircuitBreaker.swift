/// Stops hammering a dead collector: after `failureThreshold` consecutive failures it opens
/// for `openDuration` (doubling, up to `maxOpenDuration`, while probes keep failing), then
/// lets one probe through (half-open); a success closes it.
/// Time is passed in (a `Timeline`'s `now`), so tests drive it without sleeping.
struct CircuitBreaker: Sendable {
    enum State: Equatable, Sendable {
        case closed(consecutiveFailures: Int)
        case open(until: Duration)
        case halfOpen(probeInFlight: Bool)

        /// 0 closed, 1 half-open, 2 open: the gauge the agent exports.
        var gaugeValue: Int {
            switch self {
            case .closed: return 0
            case .halfOpen: return 1
            case .open: return 2
            }
        }
    }

    enum Permit: Equatable, Sendable {
        case proceed
        case waitUntil(Duration)
    }

    var failureThreshold = 5
    var openDuration = Duration.seconds(1)
    var maxOpenDuration = Duration.seconds(10)
    private(set) var state = State.closed(consecutiveFailures: 0)
    private var currentOpenDuration: Duration?

    init(failureThreshold: Int = 5, openDuration: Duration = .seconds(1), maxOpenDuration: Duration = .seconds(10)) {
        self.failureThreshold = failureThreshold
        self.openDuration = openDuration
        self.maxOpenDuration = maxOpenDuration
    }

    mutating func permit(now: Duration) -> Permit {
        switch state {
        case .closed:
            return .proceed
        case .open(let until):
            guard now >= until else { return .waitUntil(until) }
            state = .halfOpen(probeInFlight: true)
            return .proceed
        case .halfOpen(let probeInFlight):
            if probeInFlight { return .waitUntil(now + .milliseconds(100)) }
            state = .halfOpen(probeInFlight: true)
            return .proceed
        }
    }

    /// Lets the next request through as a probe, whatever the cool-down says (used when draining on shutdown).
    mutating func allowProbeNow() {
        if case .open = state { state = .halfOpen(probeInFlight: false) }
    }

    mutating func recordSuccess() {
        state = .closed(consecutiveFailures: 0)
        currentOpenDuration = nil
    }

    mutating func recordFailure(now: Duration) {
        switch state {
        case .closed(let failures):
            if failures + 1 >= failureThreshold { open(now: now) } else { state = .closed(consecutiveFailures: failures + 1) }
        case .halfOpen:
            open(now: now)
        case .open:
            break
        }
    }

    private mutating func open(now: Duration) {
        let duration = currentOpenDuration.map { min($0 * 2, maxOpenDuration) } ?? openDuration
        currentOpenDuration = duration
        state = .open(until: now + duration)
    }
}
