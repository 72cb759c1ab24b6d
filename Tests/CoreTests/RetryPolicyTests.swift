import Foundation
import PeriscopeDelivery
import Testing

@Suite("Retry policy")
struct RetryPolicyTests {
    @Test("full jitter stays under the exponential ceiling; Retry-After raises the wait but never past the cap")
    func bounds() {
        let policy = RetryPolicy(maxAttempts: nil, initialBackoff: .milliseconds(100), maxBackoff: .seconds(2))
        var generator = SystemRandomNumberGenerator()
        for retry in 1...80 {
            let ceiling = min(Duration.seconds(2), .milliseconds(100) * (1 << min(retry - 1, 40)))
            for _ in 0..<20 {
                let delay = policy.backoff(retry: retry, using: &generator)
                #expect(delay >= .zero && delay <= ceiling)
            }
        }
        #expect(policy.backoff(retry: 1, retryAfter: .seconds(1), using: &generator) >= .seconds(1))
        #expect(policy.backoff(retry: 1, retryAfter: .seconds(7), using: &generator) == .seconds(2))
        #expect(policy.backoff(retry: Int.max, retryAfter: .seconds(Int64.max), using: &generator) == .seconds(2))
    }

    @Test("only 400 and 413 are refusals; every other status is retried")
    func verdicts() {
        #expect(RetryPolicy.verdict(status: 200) == .delivered)
        #expect(RetryPolicy.verdict(status: 204) == .delivered)
        #expect(RetryPolicy.verdict(status: 400) == .refused)
        #expect(RetryPolicy.verdict(status: 413) == .refused)
        for status in [301, 302, 307, 401, 403, 404, 408, 409, 429, 500, 502, 503, 504, 599, 0, 999] {
            #expect(RetryPolicy.verdict(status: status) == .retry, "status \(status)")
        }
    }

    @Test("Retry-After in seconds and as an HTTP date, unreadable values ignored, huge ones saturated")
    func retryAfter() {
        let now = Date(timeIntervalSince1970: 784_111_777)  // Sun, 06 Nov 1994 08:49:37 GMT
        #expect(RetryPolicy.retryAfter("5", now: now) == .seconds(5))
        #expect(RetryPolicy.retryAfter(" 0 ", now: now) == .zero)
        #expect(RetryPolicy.retryAfter("Sun, 06 Nov 1994 08:50:07 GMT", now: now) == .seconds(30))
        #expect(RetryPolicy.retryAfter("Sunday, 06-Nov-94 08:50:07 GMT", now: now) == .seconds(30))
        #expect(RetryPolicy.retryAfter("Sun Nov  6 08:50:07 1994", now: now) == .seconds(30))
        #expect(RetryPolicy.retryAfter("Sun, 06 Nov 1994 08:00:00 GMT", now: now) == .zero, "a date in the past means now")
        #expect(RetryPolicy.retryAfter("99999999999999999999999", now: now)! > .seconds(1_000_000_000))
        for bad in [nil, "", "-5", "1.5", "soon", "Sun, 99 Nov 1994 08:50:07 GMT"] as [String?] {
            #expect(RetryPolicy.retryAfter(bad, now: now) == nil, "\(bad ?? "nil")")
        }
    }

    @Test("whole nanoseconds saturate instead of trapping")
    func wholeNanoseconds() {
        #expect(Duration.seconds(2).wholeNanoseconds == 2_000_000_000)
        #expect(Duration.seconds(Int64.max).wholeNanoseconds == .max)
        #expect(Duration.seconds(Int64.min).wholeNanoseconds == .min)
    }
}
