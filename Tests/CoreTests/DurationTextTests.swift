import PeriscopeConfig
import Testing

@Suite("Duration text")
struct DurationTextTests {
    @Test("short labels: the largest unit that says it exactly from an hour on, and what they read back as")
    func shortLabels() {
        let cases: [(String, String)] = [
            ("850us", "850us"), ("300ms", "300ms"), ("1.5s", "1.5s"), ("2m", "2m"), ("90m", "90m"), ("1h", "1h"),
            ("36h", "36h"), ("7d", "7d"), ("30d", "30d"), ("25h", "25h"), ("61m", "61m"),
        ]
        for (text, label) in cases {
            let nanos = DurationText.nanos(text)
            #expect(nanos.map(DurationText.short) == label, "\(text)")
            #expect(DurationText.nanos(label) == nanos, "\(label) reads back as \(text)")
        }
        #expect(DurationText.short(.max).hasSuffix("m"), "no whole number of hours fits UInt64.max")
    }

    @Test("compounds as Go writes them add up; anything else is refused")
    func compounds() {
        let second: UInt64 = 1_000_000_000
        let read: [(String, UInt64)] = [
            ("1h30m", 5_400 * second), ("2m3.5s", 123_500_000_000), ("1d12h", 36 * 3_600 * second), ("1s500ms", 1_500_000_000),
            ("1m0s", 60 * second), ("250ms", 250_000_000), (" 1h1s ", 3_601 * second), ("1.5µs", 1_500), ("7", 7),
        ]
        for (text, nanos) in read { #expect(DurationText.nanos(text) == nanos, "\(text)") }
        for text in ["", "h", "1hm", "1h30", "1x", "-1s", "1.2.3s", "1s-2s", "1e3s", "s1", "1h 30m", "99999999999d"] {
            #expect(DurationText.nanos(text) == nil, "\(text)")
        }
    }
}
