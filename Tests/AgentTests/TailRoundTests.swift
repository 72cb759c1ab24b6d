import Foundation
@testable import PeriscopeAgent
import PeriscopeDelivery
import Testing

@Suite("Tail: many files in one round")
struct TailRoundTests {
    @Test("files that each gained a line share one checkpoint write and one queue write per round; every line once")
    func sharedWrites() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let engine = try TailTesting.engine(scratch, sink: sink, source: TailSource(include: [], startAt: .beginning, format: .plain))
        var expected: [String] = []
        for round in 0..<3 {
            for file in 0..<40 {
                try scratch.append("f\(file).log", "r\(round) f\(file)\n")
                expected.append("r\(round) f\(file)")
            }
            await engine.poll()
        }
        #expect(sink.bodies.sorted() == expected.sorted())
        #expect(sink.state.withLock { $0.duplicateBatches } == 0)
        #expect(sink.state.withLock { $0.groupSizes } == [40, 40, 40], "one queue write per round")
        // Each save is one line of the checkpoint file (no compaction at this size): a pending
        // mark and a commit per round, not one pending mark per file.
        let lines = try String(contentsOfFile: scratch.file("tail-checkpoints.json"), encoding: .utf8).split(separator: "\n").count
        #expect(lines <= 2 * 3 + 1, "checkpoint saves: \(lines)")
    }

    @Test("a round holding more than maxRoundBytes is written in parts as it fills, round after round; every line once")
    func roundBytesLimit() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let engine = try TailTesting.engine(scratch, sink: sink, source: TailSource(include: [], startAt: .beginning, format: .plain))
        // 60 files gaining one 80 KiB line each, three rounds: 4.8 MB a round, past the 4 MiB limit.
        let line = String(repeating: "x", count: 80 << 10)
        for round in 0..<3 {
            for file in 0..<60 { try scratch.append(String(format: "f%02d.log", file), "r\(round) f\(file) \(line)\n") }
            await engine.poll()
        }
        let groups = sink.state.withLock { $0.groupSizes }
        #expect(groups.count == 6 && groups.reduce(0, +) == 180, "two writes a round: \(groups)")
        #expect(groups.allSatisfy { $0 * (80 << 10) <= TailEngine.maxRoundBytes + (80 << 10) + 1024 }, "\(groups)")
        #expect(sink.bodies.count == 180 && Set(sink.bodies).count == 180)
        #expect(sink.state.withLock { $0.duplicateBatches } == 0)
    }

    @Test("files with nothing new between ones that gained lines do not split the round: one queue write a round")
    func idleFilesBetween() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let engine = try TailTesting.engine(scratch, sink: sink, source: TailSource(include: [], startAt: .beginning, format: .plain))
        for file in 0..<30 { try scratch.append(String(format: "f%02d.log", file), "first f\(file)\n") }
        await engine.poll()
        // Every third file gains a line; the others, sorted between them, have nothing new.
        for round in 0..<3 {
            for file in stride(from: round, to: 30, by: 3) { try scratch.append(String(format: "f%02d.log", file), "r\(round) f\(file)\n") }
            await engine.poll()
        }
        #expect(sink.state.withLock { $0.groupSizes } == [30, 10, 10, 10], "one queue write a round")
        #expect(sink.bodies.count == 60 && Set(sink.bodies).count == 60)
        #expect(sink.state.withLock { $0.duplicateBatches } == 0)
    }

    @Test("a file with more than one batch of lines goes on its own, before the round, and the queue keeps the order read")
    func largeFileAlone() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let engine = try TailTesting.engine(scratch, sink: sink, source: TailSource(include: [], startAt: .beginning, format: .plain))
        try scratch.append("a.log", "a1\n")
        try scratch.append("b.log", String(repeating: "b\n", count: TailEngine.maxBatchRecords + 10))
        try scratch.append("c.log", "c1\n")
        await engine.poll()
        let bodies = sink.bodies
        #expect(bodies.count == TailEngine.maxBatchRecords + 12)
        #expect(bodies.first == "a1", "a.log was read first and is queued first")
        #expect(bodies.last == "c1")
        #expect(sink.state.withLock { $0.duplicateBatches } == 0)
    }

    @Test("a crash after a round's queue write and before its commit: the restarted tailer re-sends every range under its ID")
    func crashBeforeCommit() async throws {
        let scratch = try TailScratch()
        let first = RecordingTailSink()
        let crashCopy = scratch.file("checkpoints-at-crash")
        let checkpointPath = scratch.file("tail-checkpoints.json")
        first.beforeGroup.withLock {
            $0 = { _ in
                // What a crash at this moment leaves on disk: the round's ranges marked pending.
                try? FileManager.default.removeItem(atPath: crashCopy)
                try? FileManager.default.copyItem(atPath: checkpointPath, toPath: crashCopy)
            }
        }
        let source = TailSource(include: [], startAt: .beginning, format: .plain)
        let engine = try TailTesting.engine(scratch, sink: first, source: source)
        for file in 0..<30 { try scratch.append("f\(file).log", "one f\(file)\ntwo f\(file)\n") }
        await engine.poll()
        #expect(first.bodies.count == 60)
        let saved = try TailCheckpoints.load(crashCopy)
        #expect(saved.files.count == 30)
        for entry in saved.files {
            let size = try FileManager.default.attributesOfItem(atPath: entry.path)[.size] as? Int
            #expect(entry.offset == 0 && entry.pendingEnd.map(Int.init) == size, "\(entry.path): the whole file pending")
        }

        // The restart finds the state of the crash; the collector side has every batch of the first run.
        try FileManager.default.removeItem(atPath: checkpointPath)
        try FileManager.default.copyItem(atPath: crashCopy, toPath: checkpointPath)
        let second = RecordingTailSink()
        let firstIDs = first.state.withLock { $0.batchIDs }
        second.state.withLock { $0.batchIDs = firstIDs }
        let restarted = try TailTesting.engine(scratch, sink: second, source: source)
        await restarted.poll()
        #expect(second.state.withLock { $0.duplicateBatches } == 30, "each pending range re-sent under the ID it had")
        #expect(second.records.isEmpty)
        for file in 0..<30 { try scratch.append("f\(file).log", "three f\(file)\n") }
        await restarted.poll()
        #expect(second.bodies.sorted() == (0..<30).map { "three f\($0)" }.sorted())
        #expect(second.state.withLock { $0.duplicateBatches } == 30)
        await restarted.close()
    }
}
