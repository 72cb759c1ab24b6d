import Foundation
import PeriscopeQueryAPI
import PeriscopeTesting
import Testing

/// The signals answer is written by hand (`DirectJSON`) for speed; clients must not see a
/// difference: the bytes equal the generic encoder's for any value.
@Suite("JSON written directly")
struct DirectJSONTests {
    private static let awkward = ["", "GET /users/{id}", "quote \" back \\ slash /", "tab\tnew\nline\r", "\u{0}\u{1}\u{1F}\u{7F}",
                                  "ünïcødé ✓ 🚀", "\u{2028}\u{2029}", "500", "503", "Exception", "exception", "a", "B", "10", "9",
                                  // Not in normalised form: Swift's `<` orders these unlike their bytes.
                                  "e\u{301}", "f", "\u{212B}", "Ð", "\u{E9}", "A\u{30A}"]
    private static let numbers: [Double] = [0, -0.0, 1, -1, 0.5, 1e-5, 1e-7, 123_456_789.125, 1e16, 1e21, 1e300, .leastNonzeroMagnitude, .pi,
                                            0.015299026425591099, .nan, .infinity, -.infinity, Double(Int64.max), 2.5e-4]

    private static func random(_ generator: inout some RandomNumberGenerator) -> QueryAPI.Signals {
        func text() -> String { awkward.randomElement(using: &generator)! + (Bool.random(using: &generator) ? "" : String(Int.random(in: 0...99, using: &generator))) }
        func number() -> Double {
            Bool.random(using: &generator) ? numbers.randomElement(using: &generator)! : Double.random(in: -1e12...1e12, using: &generator) / Double(Int.random(in: 1...1_000_000, using: &generator))
        }
        func percentiles() -> QueryAPI.Percentiles? {
            Bool.random(using: &generator) ? nil : QueryAPI.Percentiles(p50: number(), p90: number(), p99: number(), p999: number())
        }
        let rows = (0..<Int.random(in: 0...6, using: &generator)).map { _ in
            QueryAPI.SignalRow(
                service: text(), operation: Bool.random(using: &generator) ? nil : text(),
                requests: Int.random(in: Int.min...Int.max, using: &generator), requestsPerSecond: number(),
                errors: Int.random(in: -5...1_000_000, using: &generator), errorRatio: number(),
                errorTypes: Dictionary((0..<Int.random(in: 0...5, using: &generator)).map { _ in (text(), Int.random(in: 0...999, using: &generator)) },
                                       uniquingKeysWith: { a, _ in a }),
                latency: percentiles(), failureLatency: percentiles(),
                saturation: Bool.random(using: &generator) ? nil : number(),
                series: (0..<Int.random(in: 0...40, using: &generator)).map { _ in Int.random(in: 0...100_000, using: &generator) },
                errorSeries: (0..<Int.random(in: 0...40, using: &generator)).map { _ in Int.random(in: -3...100_000, using: &generator) })
        }
        return QueryAPI.Signals(
            startTimeUnixNano: UInt64.random(in: 0...UInt64.max, using: &generator), endTimeUnixNano: UInt64.random(in: 0...UInt64.max, using: &generator),
            seriesStepSeconds: Int.random(in: 1...86_400, using: &generator), rows: rows,
            totalRows: Bool.random(using: &generator) ? nil : Int.random(in: 0...5_000, using: &generator))
    }

    @Test("golden signals: the same bytes as the generic encoder, for 2,000 random answers with awkward text and numbers")
    func signalsBytesEqual() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        let encoder = QueryAPI.encoder()
        for _ in 0..<2_000 {
            let value = Self.random(&generator)
            let expected = Array(try encoder.encode(value))
            let written = value.jsonBytes()
            guard written == expected else {
                Issue.record("seed \(seed); written: \(String(decoding: written, as: UTF8.self))\nencoder: \(String(decoding: expected, as: UTF8.self))")
                return
            }
        }
    }
}
