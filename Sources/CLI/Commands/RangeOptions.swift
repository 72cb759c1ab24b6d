import ArgumentParser

/// `--since` / `--until`: shared by the commands that look at a time range (traces, logs,
/// request, deps), so they read the same everywhere.
struct RangeOptions: ParsableArguments {
    @Option(
        name: .customLong("since"),
        help: ArgumentHelp(
            "Start of the time range: an age (15m, 2h, 7d) or an RFC 3339 time (2026-01-02T15:04:05Z).",
            valueName: "TIME"))
    var since: String?

    @Option(
        name: .customLong("until"),
        help: ArgumentHelp("End of the time range: an age, an RFC 3339 time or now (default: now).", valueName: "TIME"))
    var until: String?

    /// The range, `defaultSince` filling in a missing `--since`.
    func timeRange(defaultSince: String?, nowUnixNano: UInt64 = TimeRange.nowUnixNano()) throws -> TimeRange {
        try TimeRange.resolve(since: since, until: until, defaultSince: defaultSince, nowUnixNano: nowUnixNano)
    }
}

/// Checks a `--limit` value against what the collector answers (1…10000).
func validateLimit(_ limit: Int?) throws {
    if let limit, !(1...10_000).contains(limit) {
        throw ValidationError("--limit must be a number from 1 to 10000")
    }
}
