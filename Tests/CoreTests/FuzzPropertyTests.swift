import Foundation
import PeriscopeConfig
import PeriscopeDiskQueue
import PeriscopeTesting
import Testing

/// The text and queue-record fuzz properties on their seeds and on random inputs, so
/// `make test` exercises what `make fuzz` explores at length.
@Suite("Fuzz properties")
struct FuzzPropertyTests {

    /// Each seed, then mutations of the seeds and random bytes.
    static func inputs(_ target: String, count: Int) -> [[UInt8]] {
        var generator = SystemRandomNumberGenerator()
        let seeds = FuzzCorpus.seeds(target)
        var inputs = seeds
        for round in 0..<count {
            var input = round % 2 == 0 && !seeds.isEmpty ? seeds[round % seeds.count] : (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            for _ in 0..<Int.random(in: 0...4, using: &generator) where !input.isEmpty {
                input[Int.random(in: 0..<input.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            inputs.append(input)
        }
        return inputs
    }

    @Test("times, durations, sizes, Retry-After and URLs to show: read or refused, never trapped on; written times read back; no password shows")
    func text() {
        let inputs = Self.inputs("TextFuzz", count: 3_000)
        #expect(FuzzCorpus.seeds("TextFuzz").count >= 8)
        for input in inputs { input.withUnsafeBytes { TextFuzzing.check($0) } }
        #expect(TimestampText.rfc3339(unixNano: 0) == "1970-01-01T00:00:00.000000000Z")
        #expect(TimestampText.rfc3339(unixNano: .max) == "2554-07-21T23:34:33.709551615Z")
    }

    @Test("queue records: any bytes read or refused; what reads is what encodes; batches survive a round trip")
    func queueRecords() {
        let inputs = Self.inputs("QueueRecordFuzz", count: 3_000)
        #expect(FuzzCorpus.seeds("QueueRecordFuzz").count >= 3)
        var decodedSeeds = 0
        for input in FuzzCorpus.seeds("QueueRecordFuzz") where QueueRecord.decode(input) != nil { decodedSeeds += 1 }
        #expect(decodedSeeds == 2, "the two whole seed records decode, the torn one does not")
        for input in inputs { input.withUnsafeBytes { QueueRecordFuzzing.check($0) } }
    }

    @Test("checked lines: any bytes give an intact payload or none; an appended line is read back; a torn one is not")
    func checkedLines() {
        let seeds = FuzzCorpus.seeds("CheckedLineFuzz")
        #expect(seeds.count >= 4)
        let current = seeds.compactMap { CheckedLine.lastIntact(in: $0).map { String(decoding: $0, as: UTF8.self) } }.sorted()
        #expect(current == [
            #"{"files":[],"startedSources":["s"],"version":1}"#, #"{"files":[],"startedSources":["s"],"version":1}"#,
            #"{"files":[{"offset":10}],"startedSources":["s"],"version":1}"#,
        ], "two-states reads its second line; torn-last and zeros-after their first; the legacy JSON has no checked line")
        for input in Self.inputs("CheckedLineFuzz", count: 3_000) { input.withUnsafeBytes { CheckedLineFuzzing.check($0) } }
    }
}
