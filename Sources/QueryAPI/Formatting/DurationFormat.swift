/// Durations the way people read them: three significant digits in the largest unit that
/// keeps the number below 1000 — `850ns`, `12.3µs`, `4.56ms`, `1.23s`, then `2m05s`, `1h02m`.
/// The CLI and the web UI both show durations so.
public enum DurationFormat {
    public static func string(nanos: UInt64) -> String {
        if nanos == 0 { return "0s" }
        if nanos < 1_000 { return "\(nanos)ns" }
        if let text = threeSignificant(Double(nanos) / 1e3) { return text + "µs" }
        if let text = threeSignificant(Double(nanos) / 1e6) { return text + "ms" }
        if nanos < 59_950_000_000, let text = threeSignificant(Double(nanos) / 1e9) { return text + "s" }
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
        // Written out rather than looped over arrays: a waterfall formats a few durations a row.
        let hundredths = (value * 100).rounded() / 100
        if hundredths < 10 { return fixed(hundredths, factor: 100) }
        let tenths = (value * 10).rounded() / 10
        if tenths < 100 { return fixed(tenths, factor: 10) }
        let whole = value.rounded()
        return whole < 1000 ? fixed(whole, factor: 1) : nil
    }

    /// `value` with two decimals (`factor` 100), one (10) or none (1).
    private static func fixed(_ value: Double, factor: Int) -> String {
        let scaled = Int((value * Double(factor)).rounded())
        let whole = scaled / factor
        guard factor > 1 else { return String(whole) }
        let fraction = scaled % factor
        return "\(whole)." + (factor == 100 && fraction < 10 ? "0" : "") + String(fraction)
    }

    private static func twoDigits(_ value: UInt64) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
