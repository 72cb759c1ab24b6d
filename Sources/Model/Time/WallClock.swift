import Foundation

/// Wall-clock time in Unix nanoseconds, the unit OTLP timestamps use.
public enum WallClock {
    public static func nowUnixNano() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return unixNano(seconds: Int64(spec.tv_sec), nanoseconds: Int64(spec.tv_nsec))
    }

    /// A `timespec`'s seconds and nanoseconds as Unix nanoseconds: before 1970 is 0, past
    /// 2554 is `UInt64.max` — a file's time is whatever its file system says, never a trap.
    public static func unixNano(seconds: Int64, nanoseconds: Int64) -> UInt64 {
        guard seconds >= 0 else { return 0 }
        let (scaled, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (sum, sumOverflow) = scaled.addingReportingOverflow(UInt64(clamping: nanoseconds))
        return sumOverflow ? .max : sum
    }
}
