import Foundation

/// Wall-clock time in Unix nanoseconds, the unit OTLP timestamps use.
public enum WallClock {
    public static func nowUnixNano() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
