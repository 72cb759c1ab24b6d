import Testing
@testable import PeriscopeCLI
import PeriscopeQueryAPI
import PeriscopeTesting

@Suite struct DurationFormatTests {
    @Test(arguments: [
        (0, "0s"), (1, "1ns"), (850, "850ns"), (999, "999ns"),
        (1_000, "1.00µs"), (12_345, "12.3µs"), (123_456, "123µs"), (999_499, "999µs"), (999_500, "1.00ms"),
        (4_560_000, "4.56ms"), (4_565_000, "4.57ms"), (9_996_000, "10.0ms"), (99_960_000, "100ms"),
        (1_230_000_000, "1.23s"), (59_940_000_000, "59.9s"), (59_960_000_000, "1m"),
        (125_000_000_000, "2m05s"), (3_720_000_000_000, "1h02m"), (90_000_000_000_000, "1d01h"), (30 * 86_400_000_000_000, "30d"), (7_200_000_000_000, "2h"), (UInt64.max, "213504d"),
    ] as [(UInt64, String)])
    func formats(nanos: UInt64, expected: String) {
        #expect(DurationFormat.string(nanos: nanos) == expected)
    }

    @Test("under a minute, the same text as the looped form it replaced, at every magnitude and rounding edge")
    func sameAsLoopedForm() {
        func fixed(_ value: Double, decimals: Int) -> String {
            let factor = [1, 10, 100][decimals]
            let scaled = Int((value * Double(factor)).rounded())
            guard decimals > 0 else { return String(scaled / factor) }
            let fraction = String(scaled % factor)
            return "\(scaled / factor)." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        func looped(_ nanos: UInt64) -> String? {
            for (scale, suffix) in [(1e3, "µs"), (1e6, "ms"), (1e9, "s")] where !(suffix == "s" && nanos >= 59_950_000_000) {
                for decimals in [2, 1, 0] {
                    let factor = [1.0, 10.0, 100.0][decimals]
                    let rounded = (Double(nanos) / scale * factor).rounded() / factor
                    if rounded < [1000.0, 100.0, 10.0][decimals] { return fixed(rounded, decimals: decimals) + suffix }
                }
            }
            return nil
        }
        var generator = SeededGenerator(seed: 0x5EED)
        var values: [UInt64] = []
        for magnitude in 3...10 {
            let power = (0..<magnitude).reduce(UInt64(1)) { value, _ in value * 10 }
            // Around each rounding edge (…995, …9995, …) and at random within the magnitude.
            for edge in [power, power / 2, 995 * power / 1_000, 9_995 * power / 10_000] {
                values += (edge > 3 ? edge - 3 : 0)...(edge + 3)
            }
            values += (0..<2_000).map { _ in power + UInt64.random(in: 0..<(9 * power), using: &generator) }
        }
        values += [59_949_999_999, 59_949_999_998, 9_999_999_999, 999_999_999]
        for nanos in values where nanos >= 1_000 && nanos < 59_950_000_000 {
            #expect(DurationFormat.string(nanos: nanos) == looped(nanos), "\(nanos) ns")
        }
    }
}

@Suite struct TimestampTests {
    @Test func rfc3339WithMillisecondsInUTC() {
        #expect(Timestamp.rfc3339(unixNanos: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.rfc3339(unixNanos: Fixtures.t0) == "2024-05-01T12:00:00.000Z")
        #expect(Timestamp.rfc3339(unixNanos: Fixtures.t0 + 45_678_999_999) == "2024-05-01T12:00:45.678Z")
        #expect(Timestamp.rfc3339(unixNanos: 1_709_164_800_000_000_000) == "2024-02-29T00:00:00.000Z")
        #expect(Timestamp.rfc3339(unixNanos: 1_735_689_599_999_000_000) == "2024-12-31T23:59:59.999Z")
        #expect(Timestamp.rfc3339(unixNanos: UInt64.max) == "2554-07-21T23:34:33.709Z")
    }
}

@Suite struct TextTests {
    @Test func widthCountsWideCharactersTwice() {
        #expect(Text.width("abc") == 3)
        #expect(Text.width("├─ µs") == 5)
        #expect(Text.width("日本") == 4)
        #expect(Text.width("e\u{301}") == 1)
    }

    @Test func truncateEndsWithAnEllipsis() {
        #expect(Text.truncate("checkout-service", to: 8) == "checkou…")
        #expect(Text.truncate("short", to: 8) == "short")
        #expect(Text.truncate("日本語です", to: 5) == "日本…")
    }
}
