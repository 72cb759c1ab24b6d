import Foundation
import PeriscopeLogLines
import PeriscopeTesting
import Testing

/// The log-line fuzz property (`LogLinesFuzzing.check`) on the fuzz seeds and on random
/// mutations of them, so `make test` exercises what `make fuzz` explores at length.
@Suite("Log lines under fuzzing")
struct LogLinesFuzzingTests {
    static let seeds: [[UInt8]] = {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Fuzz/Corpus/LogLinesFuzz").standardized
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().compactMap { FileManager.default.contents(atPath: directory.appendingPathComponent($0).path).map(Array.init) }
    }()

    @Test("every seed holds the property")
    func seeds() {
        #expect(Self.seeds.count >= 4)
        for seed in Self.seeds { seed.withUnsafeBytes { LogLinesFuzzing.check($0) } }
    }

    @Test("3,000 mutations of the seeds hold it too")
    func mutations() {
        var generator = SeededGenerator(seed: 0x10_9115)
        var checked = 0
        for round in 0..<3_000 {
            var input = Self.seeds[round % Self.seeds.count]
            for _ in 0..<(1 + Int(generator.next() % 8)) {
                let position = Int(generator.next() % UInt64(input.count))
                switch generator.next() % 4 {
                case 0: input[position] = UInt8(truncatingIfNeeded: generator.next())
                case 1: input.insert(contentsOf: [UInt8]("\"{}[]:=,\\\n 9e99\u{0}".utf8).shuffled(using: &generator).prefix(3), at: position)
                case 2: input.removeSubrange(position..<min(input.count, position + Int(generator.next() % 16)))
                default: input.insert(contentsOf: input[position..<min(input.count, position + 32)], at: position)
                }
                if input.isEmpty { input = [0] }
            }
            input.withUnsafeBytes { LogLinesFuzzing.check($0) }
            checked += 1
        }
        #expect(checked == 3_000)
    }
}
