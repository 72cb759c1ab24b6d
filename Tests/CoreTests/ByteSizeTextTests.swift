import PeriscopeConfig
import Testing

@Suite("Sizes in flags and YAML")
struct ByteSizeTextTests {
    @Test("binary and decimal units, fractions and plain bytes")
    func units() {
        #expect(ByteSizeText.parse("512MiB") == 512 << 20)
        #expect(ByteSizeText.parse("64KiB") == 64 << 10)
        #expect(ByteSizeText.parse("1.5GiB") == 3 << 29)
        #expect(ByteSizeText.parse("1GB") == 1_000_000_000)
        #expect(ByteSizeText.parse("16M") == 16 << 20)
        #expect(ByteSizeText.parse(" 1048576 ") == 1_048_576)
        #expect(ByteSizeText.parse("10B") == 10)
    }

    @Test("nonsense, negatives and sizes past Int are refused, never trapped on")
    func refusals() {
        for text in ["", "MiB", "-5", "-1KiB", "ten", "infMiB", "nanKiB", "1e300GiB", "99999999999999999999", "5 parsecs"] {
            #expect(ByteSizeText.parse(text) == nil, "\(text)")
        }
    }
}
