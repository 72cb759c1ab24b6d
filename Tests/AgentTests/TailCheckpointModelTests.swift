import Foundation
@testable import PeriscopeAgent
import PeriscopeTesting
import Testing

/// Random sequences of appends, rename-and-create rotations, polls, refused appends (a full
/// queue), clean restarts and crashes (the engine dropped without closing, so only what its
/// checkpoint file says survives) against the simplest model of a tailer: every line written
/// is delivered once. After every step nothing was delivered twice or made up; after the last,
/// everything written was delivered. The sink keeps a batch ID once, as the collector does.
@Suite("Tail checkpoint model")
struct TailCheckpointModelTests {
    @Test("every line is delivered exactly once through rotations, refusals, restarts and crashes", arguments: 0..<16)
    func matchesModel(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed &+ 0x7A11)
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let source = TailSource(include: [scratch.file("app.log")], startAt: .beginning, format: .plain)
        var engine = try TailTesting.engine(scratch, sink: sink, source: source)
        // The agent runs before the service writes: files rotated away before its first look are history.
        await engine.poll()
        var written: [String] = []
        var rotations = 0
        var operations: [String] = []
        for step in 0..<160 {
            let context = "seed \(seed), step \(step), after \(operations.suffix(6))"
            switch random.next() % 100 {
            case 0..<40:
                let count = 1 + Int(random.next() % 20)
                let lines = (0..<count).map { index in "s\(seed)-line-\(written.count + index)" }
                try scratch.append("app.log", lines.map { $0 + "\n" }.joined())
                written += lines
                operations.append("append \(count)")
            case 40..<50:
                guard FileManager.default.fileExists(atPath: scratch.file("app.log")) else { break }
                rotations += 1
                rename(scratch.file("app.log"), scratch.file("app.log.\(rotations)"))
                try scratch.append("app.log", [UInt8]())
                operations.append("rotate")
            case 50..<75:
                await engine.poll()
                operations.append("poll")
            case 75..<83:
                sink.failNext(1 + Int(random.next() % 3))
                await engine.poll()
                operations.append("refused poll")
            case 83..<92:
                await engine.close()
                engine = try TailTesting.engine(scratch, sink: sink, source: source)
                operations.append("restart")
            default:
                // kill -9: the engine is dropped as it stands; a new one starts from the files on disk.
                engine = try TailTesting.engine(scratch, sink: sink, source: source)
                operations.append("crash")
            }
            let bodies = sink.bodies
            #expect(Set(bodies).count == bodies.count, "\(context): a line delivered twice")
            #expect(Set(bodies).isSubset(of: Set(written)), "\(context): a line never written")
        }
        sink.failNext(0)
        var delivered = sink.bodies.count
        for _ in 0..<50 where delivered < written.count {
            await engine.poll()
            delivered = sink.bodies.count
        }
        let missing = Set(written).subtracting(sink.bodies)
        #expect(missing.isEmpty, "seed \(seed): \(missing.count) lines never delivered, e.g. \(missing.sorted().prefix(3)); operations \(operations)")
        #expect(sink.bodies.count == written.count)
        await engine.close()
    }
}
