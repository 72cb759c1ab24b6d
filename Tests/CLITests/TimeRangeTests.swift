import Testing
@testable import PeriscopeCLI

@Suite struct TimeRangeTests {
    /// 2024-05-01T12:00:00Z
    static let now = Fixtures.t0

    @Test(arguments: [
        ("15m", 15 * 60), ("2h", 2 * 3_600), ("7d", 7 * 86_400), ("90s", 90), ("1w", 604_800), ("1.5h", 5_400), ("0s", 0), ("1h30m", 5_400),
    ] as [(String, UInt64)])
    func agesCountBackFromNow(text: String, seconds: UInt64) throws {
        #expect(try TimeRange.point(text, flag: "--since", nowUnixNano: Self.now) == Self.now - seconds * 1_000_000_000)
    }

    @Test func absoluteTimesNowAndNanoseconds() throws {
        #expect(try TimeRange.point("2024-05-01T11:00:00Z", flag: "--since", nowUnixNano: Self.now) == Self.now - 3_600_000_000_000)
        #expect(try TimeRange.point("2024-05-01T13:00:00.250+01:00", flag: "--since", nowUnixNano: Self.now) == Self.now + 250_000_000)
        #expect(try TimeRange.point("now", flag: "--until", nowUnixNano: Self.now) == Self.now)
        #expect(try TimeRange.point("1714564800000000000", flag: "--until", nowUnixNano: Self.now) == Self.now)
    }

    @Test func timesPastWhatUnixNanosecondsHoldAreOneSentence() throws {
        #expect(try TimeRange.point("2554-07-21T00:00:00Z", flag: "--until", nowUnixNano: Self.now) == 18_446_659_200_000_000_000)
        for text in ["2554-07-22T00:00:00Z", "2600-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z"] {
            #expect(throws: QueryError("--until '\(text)' is too far in the future: times go up to 2554-07-21")) {
                try TimeRange.point(text, flag: "--until", nowUnixNano: Self.now)
            }
        }
    }

    @Test func anAgeOlderThanTheEpochIsTheEpoch() throws {
        #expect(try TimeRange.point("99999d", flag: "--since", nowUnixNano: 5) == 0)
    }

    @Test(arguments: ["5x", "", "m", "-5m", "15 m", "yesterday", "2024-13-01T00:00:00Z", "12", "1e3s"])
    func unreadableTimesAreOneSentence(text: String) {
        #expect(throws: QueryError("--since '\(text)' is not a time: give an age like 15m, 2h or 7d, or an RFC 3339 time like 2026-01-02T15:04:05Z")) {
            try TimeRange.point(text, flag: "--since", nowUnixNano: Self.now)
        }
    }

    @Test func defaultSinceAppliesOnlyWhenSinceIsMissing() throws {
        let day = try TimeRange.resolve(since: nil, until: nil, defaultSince: "24h", nowUnixNano: Self.now)
        #expect(day == TimeRange(startUnixNano: Self.now - 86_400_000_000_000, endUnixNano: nil))
        let open = try TimeRange.resolve(since: nil, until: nil, defaultSince: nil, nowUnixNano: Self.now)
        #expect(open == .unbounded)
        #expect(open.queryItems.isEmpty)
        let explicit = try TimeRange.resolve(since: "1h", until: "30m", defaultSince: "24h", nowUnixNano: Self.now)
        #expect(explicit.queryItems.map(\.0) == ["start", "end"])
        #expect(explicit.queryItems.map(\.1) == [String(Self.now - 3_600_000_000_000), String(Self.now - 1_800_000_000_000)])
    }

    @Test func sinceAfterUntilIsAnEmptyRange() {
        #expect(throws: QueryError("--since (2024-05-01T11:00:00.000Z) is after --until (2024-05-01T10:00:00.000Z): the range is empty")) {
            try TimeRange.resolve(since: "1h", until: "2h", defaultSince: nil, nowUnixNano: Self.now)
        }
    }

    @Test(arguments: [
        ("250ms", 250_000_000), ("1.5s", 1_500_000_000), ("2m", 120_000_000_000), ("500us", 500_000), ("500µs", 500_000),
        ("42ns", 42), ("1000", 1000), ("1h", 3_600_000_000_000),
    ] as [(String, UInt64)])
    func durations(text: String, nanos: UInt64) {
        #expect(TimeRange.parseDuration(text) == nanos)
    }

    @Test func badDurations() {
        for text in ["", "fast", "ms", "-1s", "1.2.3s", "5x"] {
            #expect(TimeRange.parseDuration(text) == nil, "\(text)")
        }
    }
}
