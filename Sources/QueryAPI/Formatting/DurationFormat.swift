/// Durations the way people read them: three significant digits in the largest unit that
/// keeps the number below 1000 — `850ns`, `12.3µs`, `4.56ms`, `1.23s`, then `2m05s`, `1h02m`.
/// The CLI and the web UI both show durations so.
public enum DurationFormat {
    public static func string(nanos: UInt64) -> String {
        if nanos == 0 { return "0s" }
        if nanos < 1_000 { return "\(nanos)ns" }
        let units: [(scale: Double, suffix: String)] = [(1e3, "µs"), (1e6, "ms"), (1e9, "s")]
        for unit in units {
            if let text = threeSignificant(Double(nanos) / unit.scale), !(unit.suffix == "s" && nanos >= 59_950_000_000) {
                return text + unit.suffix
            }
        }
        // A minute or more: whole seconds are precise enough.
        // Rounded to the nearest second; a sum of durations may come saturated at the largest value.
        let (rounded, overflow) = nanos.addingReportingOverflow(500_000_000)
        let seconds = (overflow ? UInt64.max : rounded) / 1_000_000_000
        if seconds < 3_600 {
            return "\(seconds / 60)m" + remainder(seconds % 60, "s")
        }
        let minutes = (seconds + 30) / 60
        if minutes < 24 * 60 {
            return "\(minutes / 60)h" + remainder(minutes % 60, "m")
        }
        let hours = (minutes + 30) / 60
        return "\(hours / 24)d" + remainder(hours % 24, "h")
    }

    /// A duration computed in floating point (a mean, a span of a chart); `–` when it is not
    /// a finite, non-negative number.
    public static func string(nanos: Double) -> String {
        guard nanos.isFinite, nanos >= 0 else { return "–" }
        return string(nanos: nanos >= 0x1p64 ? UInt64.max : UInt64(nanos))
    }

    /// The smaller unit after a larger one, two digits wide; nothing when it is zero (`30d`, `2h`).
    private static func remainder(_ value: UInt64, _ suffix: String) -> String {
        value == 0 ? "" : twoDigits(value) + suffix
    }

    /// `value` with three significant digits, or `nil` when it rounds to 1000 or more (the
    /// next unit should be used). Seconds stop at 60 so minutes take over.
    private static func threeSignificant(_ value: Double) -> String? {
        for decimals in [2, 1, 0] {
            let factor = [1.0, 10.0, 100.0][decimals]
            let rounded = (value * factor).rounded() / factor
            let limit = [1000.0, 100.0, 10.0][decimals]
            if rounded < limit { return fixed(rounded, decimals: decimals) }
        }
        return nil
    }

    private static func fixed(_ value: Double, decimals: Int) -> String {
        let factor = [1, 10, 100][decimals]
        let scaled = Int((value * Double(factor)).rounded())
        let whole = scaled / factor
        guard decimals > 0 else { return String(whole) }
        let fraction = String(scaled % factor)
        return "\(whole)." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }

    private static func twoDigits(_ value: UInt64) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
