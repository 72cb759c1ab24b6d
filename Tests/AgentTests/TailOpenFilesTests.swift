import Foundation
@testable import PeriscopeAgent
import PeriscopeLogLines
import PeriscopeModel
import PeriscopeTesting
import Testing

/// Which files the tailer opens, and how many at once: the open-file budget (idle files parked
/// and opened again when they grow), files that are not regular, files that only look like
/// copies, and the agent's own data directory.
@Suite("Tail open files")
struct TailOpenFilesTests {
    static func plain(_ scratch: TailScratch) -> TailSource {
        TailSource(include: [scratch.file("*.log")], startAt: .beginning, format: .plain)
    }

    @Test("more files than the budget: never more open than it, every line once — files growing, new, renamed while parked, and across a restart")
    func budgetParksIdleFiles() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let clock = ManualClock()
        let budget = 3
        var engine = try TailTesting.engine(scratch, sink: sink, source: Self.plain(scratch), timeline: Timeline(clock), maxOpenFiles: budget)
        var expected: [String] = []
        func write(_ file: String, _ line: String) throws {
            try scratch.append(file, line + "\n")
            expected.append(line)
        }
        func poll() async {
            await engine.poll()
            #expect(await engine.statistics.filesWatched <= budget, "at most \(budget) files open")
            clock.advance(by: .milliseconds(500))
        }
        for file in 0..<10 { try write("f\(file).log", "f\(file) first") }
        for _ in 0..<6 { await poll() }
        #expect(Set(sink.bodies) == Set(expected), "every file read in turns")

        // Parked files grow; one is renamed (its last lines written before the rename) and a new file takes its name.
        for file in 0..<10 { try write("f\(file).log", "f\(file) second") }
        try write("f3.log", "f3 before the rename")
        try FileManager.default.moveItem(atPath: scratch.file("f3.log"), toPath: scratch.file("f3.old"))
        try write("f3.log", "new f3")
        try write("extra.log", "extra file")
        for _ in 0..<8 { await poll() }
        #expect(sink.bodies.sorted() == expected.sorted(), "every line once")

        // A restart with files parked: nothing is read twice, what grew meanwhile is read.
        await engine.close()
        for file in [0, 5, 9] { try write("f\(file).log", "f\(file) while down") }
        engine = try TailTesting.engine(scratch, sink: sink, source: Self.plain(scratch), timeline: Timeline(clock), maxOpenFiles: budget)
        for _ in 0..<8 { await poll() }
        #expect(sink.bodies.sorted() == expected.sorted(), "every line once after the restart")
        #expect(sink.state.withLock { $0.duplicateBatches } == 0)
    }

    @Test("start_at end with more files than the budget: only what is written after the first look is read, in every file")
    func budgetKeepsStartAtEnd() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let clock = ManualClock()
        for file in 0..<6 { try scratch.append("f\(file).log", "old \(file)\n") }
        var source = Self.plain(scratch)
        source.startAt = .end
        let engine = try TailTesting.engine(scratch, sink: sink, source: source, timeline: Timeline(clock), maxOpenFiles: 2)
        await engine.poll()
        for file in 0..<6 { try scratch.append("f\(file).log", "new \(file)\n") }
        for _ in 0..<6 {
            clock.advance(by: .milliseconds(500))
            await engine.poll()
        }
        #expect(sink.bodies.sorted() == (0..<6).map { "new \($0)" })
    }

    @Test("with the budget full, a larger file that starts like a parked short one is still read, though it never grows")
    func largerLookalikeOfAParkedFile() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let clock = ManualClock()
        let engine = try TailTesting.engine(scratch, sink: sink, source: Self.plain(scratch), timeline: Timeline(clock), maxOpenFiles: 1)
        try scratch.append("job1.log", "=== job started ===\n")
        await engine.poll()
        clock.advance(by: .milliseconds(500))
        try scratch.append("job2.log", "=== job started ===\nstep 1\nstep 2\n")
        for _ in 0..<4 {
            await engine.poll()
            clock.advance(by: .milliseconds(500))
        }
        #expect(sink.bodies == ["=== job started ===", "=== job started ===", "step 1", "step 2"])
    }

    @Test("a parked short file renamed within the glob, and a new file at its old name starting the same: the new one is read, the renamed one not again")
    func parkedFileRenamedWithinTheGlob() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let clock = ManualClock()
        let engine = try TailTesting.engine(scratch, sink: sink, source: Self.plain(scratch), timeline: Timeline(clock), maxOpenFiles: 1)
        func polls(_ count: Int) async {
            for _ in 0..<count {
                await engine.poll()
                clock.advance(by: .milliseconds(500))
            }
        }
        try scratch.append("app.log", "id,name\n")
        try scratch.append("other.log", "other line\n")
        await polls(3)
        #expect(Set(sink.bodies) == ["id,name", "other line"])
        // Whichever is parked now: rename app.log within the glob and write a whole new app.log at once.
        try FileManager.default.moveItem(atPath: scratch.file("app.log"), toPath: scratch.file("app-20261207.log"))
        try scratch.append("app.log", "id,name\n1,a\n2,b\n")
        await polls(5)
        #expect(sink.bodies.sorted() == ["1,a", "2,b", "id,name", "id,name", "other line"], "\(sink.bodies)")
    }

    @Test("a truncated file's rescue never takes a parked file for its copy: nothing is sent twice")
    func truncationDoesNotRescueAParkedFile() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let clock = ManualClock()
        let engine = try TailTesting.engine(scratch, sink: sink, source: Self.plain(scratch), timeline: Timeline(clock), maxOpenFiles: 1)
        try scratch.append("b.log", "=== job started ===\nstep 1\n")
        await engine.poll()
        clock.advance(by: .milliseconds(500))
        try scratch.append("a.log", "=== job started ===\n")
        for _ in 0..<3 {
            await engine.poll()
            clock.advance(by: .milliseconds(500))
        }
        truncate(scratch.file("a.log"), 0)
        try scratch.append("a.log", "after truncation\n")
        for _ in 0..<4 {
            await engine.poll()
            clock.advance(by: .milliseconds(500))
        }
        #expect(sink.bodies.sorted() == ["=== job started ===", "=== job started ===", "after truncation", "step 1"].sorted(), "\(sink.bodies)")
    }

    @Test("files that vanish for a look and come back (their directory moved away and back), parked or open: each goes on where it was, nothing read twice")
    func unlistableDirectoryLosesNoPlace() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let clock = ManualClock()
        let logs = scratch.file("logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let source = TailSource(include: [scratch.file("logs/*.log")], startAt: .beginning, format: .plain)
        let engine = try TailTesting.engine(scratch, sink: sink, source: source, timeline: Timeline(clock), maxOpenFiles: 2)
        for file in 0..<4 { try scratch.append("logs/f\(file).log", "f\(file) line\n") }
        for _ in 0..<4 {
            await engine.poll()
            clock.advance(by: .milliseconds(500))
        }
        #expect(sink.bodies.count == 4)
        try FileManager.default.moveItem(atPath: logs, toPath: scratch.file("logs-away"))
        await engine.poll()
        clock.advance(by: TailEngine.rotatedGrace)
        await engine.poll()
        try FileManager.default.moveItem(atPath: scratch.file("logs-away"), toPath: logs)
        for file in 0..<4 { try scratch.append("logs/f\(file).log", "f\(file) more\n") }
        for _ in 0..<6 {
            await engine.poll()
            clock.advance(by: .milliseconds(500))
        }
        #expect(sink.bodies.sorted() == (0..<4).flatMap { ["f\($0) line", "f\($0) more"] }.sorted(), "\(sink.bodies)")
    }

    @Test("the descriptors kept from the tailer: about 240 at the defaults, and a configured number too large saturates instead of trapping")
    func descriptorReserve() {
        var configuration = AgentConfiguration()
        let reserve = configuration.descriptorsBesidesTailing
        #expect((200...300).contains(reserve), "\(reserve)")
        #expect(TailEngine.openFileBudget(limit: 1_024, reserve: reserve) == 1_024 - reserve)
        #expect(TailEngine.openFileBudget(limit: 96, reserve: reserve) == 8, "never fewer than 8")
        for huge in [Int.max, Int.max / 2 + 1] {
            configuration.maxConcurrentRequests = huge
            #expect(configuration.descriptorsBesidesTailing == Int.max)
            #expect(TailEngine.openFileBudget(limit: Int.max, reserve: configuration.descriptorsBesidesTailing) == 8)
        }
    }

    @Test("a FIFO or a directory is never opened for reading, and opening one does not block")
    func notRegularFiles() throws {
        let scratch = try TailScratch()
        #expect(mkfifo(scratch.file("pipe.log"), 0o644) == 0)
        #expect(TailedFileOpening.open(scratch.file("pipe.log")) == nil, "a FIFO: refused at once, not waited on")
        try FileManager.default.createDirectory(atPath: scratch.file("dir.log"), withIntermediateDirectories: false)
        #expect(TailedFileOpening.open(scratch.file("dir.log")) == nil)
        try scratch.append("a.log", "x\n")
        let fd = try #require(TailedFileOpening.open(scratch.file("a.log")))
        var info = stat()
        #expect(fstat(fd, &info) == 0)
        #expect(TailedFileOpening.open(scratch.file("a.log"), identity: FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino) &+ 1)) == nil,
                "another file at the path: refused")
        close(fd)
    }

    @Test("a file that starts like a short followed file but is already larger is read, though it never grows")
    func largerLookalikeIsNoCopy() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let engine = try TailTesting.engine(scratch, sink: sink, source: Self.plain(scratch))
        try scratch.append("job1.log", "=== job started ===\n")
        await engine.poll()
        try scratch.append("job2.log", "=== job started ===\nstep 1\nstep 2\n")
        await engine.poll()
        #expect(sink.bodies == ["=== job started ===", "=== job started ===", "step 1", "step 2"])
    }

    @Test("a glob reaching into the agent's own data directory never reads its files")
    func ownDataDirectoryIsNotTailed() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        // The engine's data directory is the scratch directory (its checkpoint lies there).
        let engine = try TailTesting.engine(
            scratch, sink: sink, source: TailSource(include: [scratch.file("*"), scratch.file("*/*")], startAt: .beginning, format: .plain))
        try FileManager.default.createDirectory(atPath: scratch.file("queue"), withIntermediateDirectories: true)
        try scratch.append("queue/segment-1.log", "a queue segment\n")
        try scratch.append("app.log", "from the app\n")
        for _ in 0..<3 { await engine.poll() }
        #expect(FileManager.default.fileExists(atPath: scratch.file("tail-checkpoints.json")), "the checkpoint exists and matches the glob")
        #expect(sink.bodies == ["from the app"], "neither the checkpoint nor the queue was read back: \(sink.bodies.prefix(5))")
    }
}
