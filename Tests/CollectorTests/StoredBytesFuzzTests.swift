import Foundation
@testable import PeriscopeCollector
import PeriscopeTesting
import Testing

/// The stored-bytes fuzz checks (`StoredBytesFuzzing`, also libFuzzer targets in `Fuzz/`) run
/// here on real span blocks and rollup buckets with random damage — bytes flipped, cut,
/// inserted, counts made huge — and on pure noise: a damaged database gives an error, never a
/// trap. (A trap ends the test process, which fails the run.)
@Suite("Stored bytes under damage")
struct StoredBytesFuzzTests {
    static let rounds = 4000

    /// With `PERISCOPE_FUZZ_SEEDS=DIR`, writes the undamaged inputs as seeds for the libFuzzer
    /// targets (`DIR/TARGET/NAME`): how `Fuzz/Corpus/StoredSpanBlockFuzz` and `RollupBucketFuzz` were made.
    static func writeSeed(_ bytes: [UInt8], target: String, name: String) {
        guard let root = ProcessInfo.processInfo.environment["PERISCOPE_FUZZ_SEEDS"] else { return }
        let directory = URL(fileURLWithPath: root).appendingPathComponent(target)
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try? Data(bytes).write(to: directory.appendingPathComponent(name))
    }

    @Test("the libFuzzer seeds and the inputs it once crashed on replay without a trap")
    func replaySeeds() {
        let blocks = FuzzCorpus.seeds("StoredSpanBlockFuzz")
        let buckets = FuzzCorpus.seeds("RollupBucketFuzz")
        #expect(!blocks.isEmpty && buckets.count >= 4, "seeds found under Fuzz/Corpus")
        for seed in blocks { seed.withUnsafeBytes { StoredBytesFuzzing.checkSpanBlock($0) } }
        for seed in buckets { seed.withUnsafeBytes { StoredBytesFuzzing.checkRollupBucket($0) } }
    }

    @Test("store URLs: the seeds, damaged seeds and noise are accepted whole or refused, never trapped on, and no password shows")
    func storeURLs() {
        let seeds = FuzzCorpus.seeds("StoreURLFuzz")
        #expect(seeds.count >= 5, "seeds found under Fuzz/Corpus/StoreURLFuzz")
        var generator = SeededGenerator(seed: 21)
        var accepted = 0
        for round in 0..<Self.rounds {
            let input = round < seeds.count ? seeds[round]
                : round % 4 == 0 ? (0..<Int(generator.next() % 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                : FuzzCorpus.damage(seeds[round % seeds.count], using: &generator)
            input.withUnsafeBytes { StoreURLFuzzing.check($0) }
            if (try? PostgresLocation(url: String(decoding: input, as: UTF8.self))) != nil { accepted += 1 }
        }
        #expect(accepted >= 2, "the valid seeds at least are accepted: \(accepted)")
    }

    @Test("span blocks: damaged and random bytes decode to an error or to a block every part of which reads")
    func spanBlocks() {
        var encoder = SpanBlockEncoder(indexedAttributes: ["http.route"])
        for resource in SpanBlockTests.resources { _ = encoder.addResource(resource) }
        for (traceID, spans) in SpanBlockTests.sampleTraces() { encoder.addTrace(traceID, spans[...]) }
        let block = encoder.encoded()
        Self.writeSeed(block, target: "StoredSpanBlockFuzz", name: "sample-block")
        var generator = SeededGenerator(seed: 16)
        var decodedWhole = 0
        for round in 0..<Self.rounds {
            let input = round % 10 == 9
                ? (0..<Int(generator.next() % 512)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                : FuzzCorpus.damage(block, using: &generator)
            input.withUnsafeBytes { StoredBytesFuzzing.checkSpanBlock($0) }
            if (try? input.withUnsafeBytes { try SpanBlock(decoding: $0) }) != nil { decodedWhole += 1 }
        }
        block.withUnsafeBytes { StoredBytesFuzzing.checkSpanBlock($0) }
        // The undamaged block decodes, so the damage above reached past the header.
        #expect((try? block.withUnsafeBytes { try SpanBlock(decoding: $0) })?.traceCount == SpanBlockTests.sampleTraces().count)
        print("span blocks: \(Self.rounds) damaged inputs, \(decodedWhole) still decoded")
    }

    @Test("rollup buckets and latency sketches: damaged and random bytes never trap")
    func rollupBuckets() {
        var generator = SeededGenerator(seed: 17)
        var writer = RequestBucket.Writer()
        for service in 1...4 {
            writer.section(service)
            for operation in [0, 3, 7, 11] {
                var aggregate = RequestAggregate()
                for _ in 0..<(1 + Int(generator.next() % 20)) {
                    aggregate.add(latencyBucket: Int32(generator.next() % 400), errorType: generator.next() % 5 == 0 ? "timeout" : nil)
                }
                writer.entry(operation) { aggregate.append(to: &$0) }
            }
        }
        let requestBucket = writer.finish()
        let sloBucket = SLOBucket.encode([("checkout-availability", SLOCounts(total: 1000, good: 990)), ("latency", SLOCounts(total: 10, good: 9))])
        var sketch = LatencySketch()
        for _ in 0..<200 { sketch.add(generator.next() % 5_000_000_000) }
        var sketchBytes = [UInt8]()
        sketch.append(to: &sketchBytes)
        Self.writeSeed(requestBucket, target: "RollupBucketFuzz", name: "request-bucket")
        Self.writeSeed(sloBucket, target: "RollupBucketFuzz", name: "slo-bucket")
        Self.writeSeed(sketchBytes, target: "RollupBucketFuzz", name: "latency-sketch")
        var services = 0
        try? requestBucket.withUnsafeBytes { bytes in
            try RequestBucket.forEach(in: bytes, entries: .services) { (_, _, _) throws(DamagedRollupData) in services += 1 }
        }
        #expect(services == 4, "the undamaged bucket reads back")
        for round in 0..<Self.rounds {
            let source = [requestBucket, sloBucket, sketchBytes][round % 3]
            let input = round % 10 == 9
                ? (0..<Int(generator.next() % 256)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                : FuzzCorpus.damage(source, using: &generator)
            input.withUnsafeBytes { StoredBytesFuzzing.checkRollupBucket($0) }
        }
    }

    @Test("day file headers: a partition's own header is ours, another tool's SQLite file, a newer schema and short or damaged headers are not, and none traps")
    func partitionHeaders() throws {
        let directory = try TemporaryDirectory("partition-header")
        let day = PartitionDay(unixNano: 1_780_000_000_000_000_000)
        _ = try Partition(day: day, directory: directory.path)
        let ours = Array(try Data(contentsOf: URL(fileURLWithPath: Partition.path(of: day, in: directory.path))).prefix(Partition.headerSize))
        let foreignPath = directory.file("other-tool.db").path
        do { try SQLiteDatabase(path: foreignPath).execute("CREATE TABLE t (x); PRAGMA user_version=0;") }
        let foreign = Array(try Data(contentsOf: URL(fileURLWithPath: foreignPath)).prefix(Partition.headerSize))
        var newer = ours
        newer[63] = UInt8(Schema.version + 1)
        Self.writeSeed(ours, target: "PartitionHeaderFuzz", name: "partition")
        Self.writeSeed(foreign, target: "PartitionHeaderFuzz", name: "other-tool")
        #expect(Partition.isOurs(header: ours) && Partition.isOurs(Partition.path(of: day, in: directory.path)))
        #expect(!Partition.isOurs(header: foreign) && !Partition.isOurs(foreignPath))
        #expect(!Partition.isOurs(header: newer))
        #expect(!Partition.isOurs(header: Array(ours.prefix(63))), "a cut header is not ours")
        #expect(!Partition.isOurs(directory.file("missing.db").path))
        let seeds = FuzzCorpus.seeds("PartitionHeaderFuzz")
        #expect(seeds.count >= 2, "seeds found under Fuzz/Corpus/PartitionHeaderFuzz")
        var generator = SeededGenerator(seed: 29)
        var judgedOurs = 0
        for round in 0..<Self.rounds {
            let input = round < seeds.count ? seeds[round]
                : round % 5 == 0 ? (0..<Int(generator.next() % 80)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                : FuzzCorpus.damage(round % 2 == 0 ? ours : foreign, using: &generator)
            input.withUnsafeBytes { StoredBytesFuzzing.checkPartitionHeader($0) }
            if Partition.isOurs(header: input) { judgedOurs += 1 }
        }
        #expect(judgedOurs > 0, "some damaged copies of a partition header (past byte 64, or in bytes the check ignores) are still ours")
    }
}
