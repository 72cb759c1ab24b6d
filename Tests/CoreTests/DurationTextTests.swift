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
}
