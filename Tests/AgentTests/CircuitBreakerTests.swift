@testable import PeriscopeAgent
import Testing

@Suite("Circuit breaker")
struct CircuitBreakerTests {
    @Test("opens after the threshold, half-opens after the cool-down, doubles on a failed probe, closes on success")
    func lifecycle() {
        var breaker = CircuitBreaker(failureThreshold: 3, openDuration: .seconds(1), maxOpenDuration: .seconds(3))
        let start = Duration.seconds(100)
        for _ in 0..<2 { breaker.recordFailure(now: start) }
        #expect(breaker.permit(now: start) == .proceed)
        breaker.recordFailure(now: start)
        #expect(breaker.permit(now: start + .milliseconds(500)) == .waitUntil(start + .seconds(1)))
        #expect(breaker.permit(now: start + .seconds(1)) == .proceed)  // the probe
        #expect(breaker.state == .halfOpen(probeInFlight: true))
        if case .waitUntil = breaker.permit(now: start + .seconds(1)) {} else { Issue.record("a second request must wait for the probe") }
        breaker.recordFailure(now: start + .seconds(1))
        #expect(breaker.state == .open(until: start + .seconds(3)))  // doubled
        #expect(breaker.permit(now: start + .seconds(3)) == .proceed)
        breaker.recordFailure(now: start + .seconds(3))
        #expect(breaker.state == .open(until: start + .seconds(6)))  // capped at 3 s
        #expect(breaker.permit(now: start + .seconds(6)) == .proceed)
        breaker.recordSuccess()
        #expect(breaker.state == .closed(consecutiveFailures: 0))
    }
}
