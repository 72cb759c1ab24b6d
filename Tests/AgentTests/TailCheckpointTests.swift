import Foundation
@testable import PeriscopeAgent
import PeriscopeTesting
import Testing

@Suite("Tail: identity, fingerprints and checkpoints", .serialized)
struct TailCheckpointTests {
    @Test("fingerprints: FNV-1a of the first KiB, compared at the stored length")
    func fingerprints() throws {
        let scratch = try TailScratch()
        try scratch.append("a", String(repeating: "a", count: 2000))
        let fd = open(scratch.file("a"), O_RDONLY)
        defer { close(fd) }
        let full = try #require(FileFingerprint.read(fd: fd))
        #expect(full.length == 1024)
        #expect(full == FileFingerprint.of(Array(repeating: UInt8(ascii: "a"), count: 1024)))
        #expect(FileFingerprint.of(Array(repeating: UInt8(ascii: "a"), count: 10)).matches(fd: fd))
        #expect(!FileFingerprint.of(Array("b".utf8)).matches(fd: fd))
    }

    @Test("checkpoints are written atomically (no temp file left) and round-trip")
    func atomicWrite() throws {
        let scratch = try TailScratch()
        var document = TailCheckpoints()
        document.files = [.init(identity: .init(device: 1, inode: 2), fingerprint: .of(Array("x".utf8)), tag: "t", path: "/p", source: "s", offset: 10, pendingEnd: 20)]
        document.startedSources = ["s"]
        try document.save(scratch.file("cp.json"))
        try document.save(scratch.file("cp.json"))
        #expect(try TailCheckpoints.load(scratch.file("cp.json")) == document)
        #expect(!FileManager.default.fileExists(atPath: scratch.file("cp.json.tmp")))
        #expect(try TailCheckpoints.load(scratch.file("missing.json")) == TailCheckpoints())
    }

    /// A state told apart from others by its one started source.
    private static func state(_ name: String) -> TailCheckpoints {
        var document = TailCheckpoints()
        document.startedSources = [name]
        return document
    }

    @Test("the checkpoint log: thousands of saves append a line each, the file is replaced when it outgrows its bound, the last save reads back")
    func checkpointLog() throws {
        let scratch = try TailScratch()
        let path = scratch.file("tail-checkpoints.json")
        let log = CheckpointLog(path: path)
        var document = TailCheckpoints()
        document.startedSources = ["s"]
        var replaced = 0
        var previousSize = 0
        var largest = 0
        for round in 0..<5_000 {
            document.files = [.init(identity: .init(device: 1, inode: 2), fingerprint: .of(Array("x".utf8)), tag: "t", path: "/p", source: "s",
                                    offset: UInt64(round) * 1_000, pendingEnd: round % 2 == 0 ? UInt64(round) * 1_000 + 500 : nil)]
            try log.save(document)
            var info = stat()
            #expect(stat(path, &info) == 0)
            // A replaced file holds one line: it is shorter than the log before it.
            if Int(info.st_size) < previousSize { replaced += 1 }
            previousSize = Int(info.st_size)
            largest = max(largest, Int(info.st_size))
            if round % 97 == 0 { #expect(try TailCheckpoints.load(path) == document) }
        }
        #expect(try TailCheckpoints.load(path) == document)
        let line = try CheckpointLog.line(document).count
        #expect(largest <= CheckpointLog.compactionBytes + 2 * line, "the file stays within its bound: \(largest) bytes")
        // 5,000 lines of about 230 bytes: replaced about every 1,100 saves, never at each one.
        #expect(replaced >= 3 && replaced <= 10, "replaced \(replaced) times")
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
        log.close()
        // After close (or a failed write) the next save replaces the file: one line only.
        try log.save(document)
        #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 1)
    }

    static func entry(_ number: Int, offset: UInt64, pending: UInt64? = nil) -> TailCheckpoints.Entry {
        .init(identity: .init(device: 1, inode: UInt64(number)), fingerprint: .of(Array("line \(number)".utf8)), tag: "tag\(number)",
              path: "/var/log/containers/pod-\(String(format: "%05d", number)).log", source: "k8s", offset: offset, pendingEnd: pending)
    }

    @Test("3,000 followed files: a save that moves one file's checkpoint appends what changed (a few hundred bytes), not the whole state; 150 such saves read back exactly, and a clean close leaves one whole state")
    func checkpointDeltas() throws {
        let scratch = try TailScratch()
        let path = scratch.file("tail-checkpoints.json")
        let log = CheckpointLog(path: path)
        var document = TailCheckpoints()
        document.startedSources = ["k8s"]
        document.savedAtUnixNano = 1
        document.files = (0..<3_000).map { Self.entry($0, offset: 0) }
        try log.save(document)
        let whole = try CheckpointLog.line(document).count
        #expect(whole > 300_000, "the whole state is large: \(whole) bytes")
        var written = 0
        var previousSize = whole
        var generator = SeededGenerator(seed: 3_000)
        for save in 1...150 {
            let file = Int(generator.next() % 3_000)
            let offset = document.files[file].offset
            document.files[file].pendingEnd = save % 2 == 0 ? offset + 100 : nil
            if save % 2 == 1 { document.files[file].offset = offset + 100 }
            document.savedAtUnixNano = UInt64(save + 1)
            try log.save(document)
            var info = stat()
            #expect(stat(path, &info) == 0)
            let size = Int(info.st_size)
            if size > previousSize { written += size - previousSize } else { written += size }
            previousSize = size
            if save % 75 == 0 { #expect(try TailCheckpoints.load(path) == document, "after save \(save)") }
        }
        #expect(try TailCheckpoints.load(path) == document)
        // Saving the whole state each time would have written 150 × `whole` bytes.
        #expect(written < 150 * 600 + 2 * whole, "wrote \(written) bytes for 150 saves")
        log.close()
        // What an older agent reads: one line, the whole last state.
        let closed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(closed.filter { $0 == 0x0A }.count == 1)
        #expect(try CheckpointLog.read(closed, path: path) == document)
    }

    @Test("random saves (files added, moved, removed, listed out of order; sources and finished streams changed): each reads back exactly, and a cut anywhere in the last line leaves the save before it")
    func checkpointDeltaReplay() throws {
        let scratch = try TailScratch()
        let path = scratch.file("tail-checkpoints.json")
        var generator = SeededGenerator(seed: 77)
        let log = CheckpointLog(path: path)
        var document = TailCheckpoints()
        var previous: TailCheckpoints?
        for save in 0..<400 {
            var files = [Int: TailCheckpoints.Entry](uniqueKeysWithValues: document.files.map { (Int($0.identity.inode), $0) })
            for _ in 0..<Int(generator.next() % 4) {
                let number = Int(generator.next() % 40)
                switch generator.next() % 4 {
                case 0: files[number] = nil
                case 1: files[number] = Self.entry(number, offset: generator.next() % 10_000, pending: generator.next() % 2 == 0 ? 20_000 : nil)
                default: files[number]?.offset += 1
                }
            }
            document.files = files.values.sorted(by: TailCheckpoints.order)
            if generator.next() % 20 == 0 { document.files.reverse() }
            if generator.next() % 10 == 0 { document.startedSources = ["s\(save % 3)"] }
            if generator.next() % 15 == 0 {
                document.finished.append(.init(identity: .init(device: 9, inode: UInt64(save)), fingerprint: .of([1]), tag: "f", end: 5, finishedAtUnixNano: 1))
            }
            document.savedAtUnixNano = generator.next() % 30 == 0 ? nil : UInt64(save)
            try log.save(document)
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(try CheckpointLog.read(bytes, path: path) == document, "save \(save)")
            if let previous, save % 10 == 0, let lastLineStart = bytes.dropLast().lastIndex(of: 0x0A).map({ $0 + 1 }) {
                // Cut inside the last line, as a crash mid-append leaves it.
                // Before the newline at least: a last line without only its newline is whole.
                let cut = lastLineStart + Int(generator.next() % UInt64(bytes.count - 1 - lastLineStart))
                #expect(try CheckpointLog.read(Array(bytes[..<cut]), path: path) == previous, "save \(save) cut at \(cut)")
            }
            previous = document
        }
        log.close()
    }

    @Test("the checkpoint log after a crash: a torn or zero-filled last line leaves the state before it; an old agent's JSON file reads; garbage is refused clearly")
    func checkpointLogDamage() throws {
        let scratch = try TailScratch()
        let path = scratch.file("tail-checkpoints.json")
        let (first, second) = (Self.state("first"), Self.state("second"))
        let log = CheckpointLog(path: path)
        try log.save(first)
        try log.save(second)
        // As a crash leaves it (a clean close would leave one whole state).
        let whole = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        log.close()
        let firstLength = try CheckpointLog.line(first).count
        #expect(try CheckpointLog.read(whole, path: path) == second)
        // Every cut inside the second line, and zeros where its bytes never landed, leave the first.
        for cut in firstLength..<(whole.count - 1) {
            #expect(try CheckpointLog.read(Array(whole[..<cut]), path: path) == first, "cut at \(cut)")
            #expect(try CheckpointLog.read(Array(whole[..<cut]) + [UInt8](repeating: 0, count: whole.count - cut), path: path) == first)
        }
        // A bit flipped in the second line's JSON: its CRC fails.
        var flipped = whole
        flipped[whole.count - 5] ^= 0x01
        #expect(try CheckpointLog.read(flipped, path: path) == first)
        // An older agent's file (one JSON document), and the next save after it.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try (Data("\n ".utf8) + encoder.encode(second)).write(to: URL(fileURLWithPath: path))
        #expect(try TailCheckpoints.load(path) == second)
        try CheckpointLog(path: path).save(first)
        #expect(try TailCheckpoints.load(path) == first)
        // Nothing intact at all: an error that says what to do.
        #expect(throws: CheckpointLog.ReadError.self) { try CheckpointLog.read(Array("not a checkpoint\n".utf8), path: path) }
        do {
            _ = try CheckpointLog.read(Array(whole[..<(firstLength - 2)]), path: path)
            Issue.record("a file with no intact line was read")
        } catch {
            #expect("\(error)".contains("move the file aside"))
        }
    }

    @Test("the checkpoint log: a file moved aside or deleted under a running agent is written again at its path by the next save")
    func checkpointLogMovedAside() throws {
        let scratch = try TailScratch()
        let path = scratch.file("tail-checkpoints.json")
        let log = CheckpointLog(path: path)
        var document = TailCheckpoints()
        for round in 0..<6 {
            document.startedSources = ["round \(round)"]
            if round == 2 { try FileManager.default.moveItem(atPath: path, toPath: path + ".bak") }
            if round == 4 { try FileManager.default.removeItem(atPath: path) }
            try log.save(document)
            #expect(try TailCheckpoints.load(path) == document, "round \(round)")
        }
        #expect(try TailCheckpoints.load(path + ".bak").startedSources == ["round 1"], "the moved file holds what it held when it was moved: no save wrote to it")
    }

    @Test("the checkpoint log: a file truncated, overwritten with an older copy or appended to in place is written whole again by the next save")
    func checkpointLogChangedInPlace() throws {
        let scratch = try TailScratch()
        let path = scratch.file("tail-checkpoints.json")
        let log = CheckpointLog(path: path)
        try log.save(Self.state("a"))
        try log.save(Self.state("b"))
        let older = try Data(contentsOf: URL(fileURLWithPath: path))
        for name in ["c", "d", "e"] { try log.save(Self.state(name)) }
        let changes: [(String, (FileHandle) throws -> Void)] = [
            ("overwritten with an older, shorter copy", { handle in
                try handle.truncate(atOffset: 0)
                try handle.write(contentsOf: older)
            }),
            ("truncated to nothing", { handle in try handle.truncate(atOffset: 0) }),
            ("appended to", { handle in
                try handle.seekToEnd()
                try handle.write(contentsOf: Data("{\"junk\": true}\n".utf8))
            }),
        ]
        for (round, (change, apply)) in changes.enumerated() {
            let handle = try #require(FileHandle(forWritingAtPath: path))
            try apply(handle)
            try handle.close()
            let state = Self.state("after \(round)")
            try log.save(state)
            #expect(try TailCheckpoints.load(path) == state, "the file was \(change)")
            try log.save(Self.state("next \(round)"))
            #expect(try TailCheckpoints.load(path) == Self.state("next \(round)"), "the save after the one that found the file \(change)")
        }
    }

    @Test("the checkpoint log after a crash: a new agent's first save replaces a file with a torn last line; an empty file is refused")
    func checkpointLogRestart() throws {
        let scratch = try TailScratch()
        let path = scratch.file("tail-checkpoints.json")
        let (first, second) = (Self.state("first"), Self.state("second"))
        try first.save(path)
        let torn = try CheckpointLog.line(second).dropLast(7)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(torn))
        handle.closeFile()
        #expect(try TailCheckpoints.load(path) == first)
        let log = CheckpointLog(path: path)
        try log.save(second)
        try log.save(first)
        #expect(try TailCheckpoints.load(path) == first)
        #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 2, "the torn line is gone")
        try Data().write(to: URL(fileURLWithPath: path))
        #expect(throws: CheckpointLog.ReadError.self) { try TailCheckpoints.load(path) }
        try Data("  \n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: CheckpointLog.ReadError.self) { try TailCheckpoints.load(path) }
    }

    @Test("a restarted engine resumes exactly at the checkpoint")
    func resume() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let source = TailSource(include: [], startAt: .end, format: .plain)
        try scratch.append("a.log", "skipped at first start\n")
        var engine = try TailTesting.engine(scratch, sink: sink, source: source)
        await engine.poll()
        try scratch.append("a.log", "1\n2\n")
        await engine.poll()
        await engine.close()
        try scratch.append("a.log", "3\n")
        try scratch.append("b.log", "new while down\n")
        engine = try TailTesting.engine(scratch, sink: sink, source: source)
        await engine.poll()
        #expect(sink.bodies.sorted() == ["1", "2", "3", "new while down"], "start_at: end only applies at a source's first start")
    }

    @Test("a crash between the pending mark and the commit re-sends the same range under the same batch ID")
    func pendingRange() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let source = TailSource(include: [], startAt: .beginning, format: .plain)
        try scratch.append("a.log", "1\n2\n")
        let engine = try TailTesting.engine(scratch, sink: sink, source: source)
        await engine.poll()
        // Simulate the crash: the checkpoint still says "pending [0, 4)", and more was written since.
        var document = try TailCheckpoints.load(scratch.file("tail-checkpoints.json"))
        document.files[0].offset = 0
        document.files[0].pendingEnd = 4
        try document.save(scratch.file("tail-checkpoints.json"))
        try scratch.append("a.log", "3\n")
        let restarted = try TailTesting.engine(scratch, sink: sink, source: source)
        await restarted.poll()
        #expect(sink.bodies == ["1", "2", "3"])
        #expect(sink.state.withLock { $0.duplicateBatches } == 1, "the re-sent range carried the same ID")
        let after = try TailCheckpoints.load(scratch.file("tail-checkpoints.json"))
        #expect(after.files[0].offset == 6 && after.files[0].pendingEnd == nil)
    }

    @Test("inode reuse: a checkpoint whose fingerprint no longer matches starts the file over under a new tag")
    func inodeReuse() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let source = TailSource(include: [], startAt: .beginning, format: .plain)
        try scratch.append("a.log", "old file content\n")
        let engine = try TailTesting.engine(scratch, sink: sink, source: source)
        await engine.poll()
        await engine.close()
        let before = try TailCheckpoints.load(scratch.file("tail-checkpoints.json")).files[0]
        // Delete and create with the same inode (forced: write the checkpoint for the new inode).
        try FileManager.default.removeItem(atPath: scratch.file("a.log"))
        try scratch.append("a.log", "new file, other content, longer\n")
        var info = stat()
        stat(scratch.file("a.log"), &info)
        var document = try TailCheckpoints.load(scratch.file("tail-checkpoints.json"))
        document.files[0].identity = FileIdentity(info)
        try document.save(scratch.file("tail-checkpoints.json"))
        let restarted = try TailTesting.engine(scratch, sink: sink, source: source)
        await restarted.poll()
        #expect(sink.bodies == ["old file content", "new file, other content, longer"])
        let after = try TailCheckpoints.load(scratch.file("tail-checkpoints.json")).files[0]
        #expect(after.tag != before.tag)
    }

    @Test("rotated while the agent was down: the renamed file is found by inode and finished")
    func rotatedWhileDown() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let source = TailSource(include: [scratch.file("app.log")], startAt: .beginning, format: .plain)
        try scratch.append("app.log", "a1\n")
        let engine = try TailTesting.engine(scratch, sink: sink, source: source)
        await engine.poll()
        await engine.close()
        try scratch.append("app.log", "a2\n")
        try FileManager.default.moveItem(atPath: scratch.file("app.log"), toPath: scratch.file("app.log.1"))
        try scratch.append("app.log", "b1\n")
        let restarted = try TailTesting.engine(scratch, sink: sink, source: source)
        await restarted.poll()
        #expect(sink.bodies == ["a1", "a2", "b1"])
    }

    @Test("a followed symbolic link (Kubernetes style) whose target is rotated while the agent is down: the renamed target is found beside it and finished")
    func symlinkTargetRotatedWhileDown() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        try FileManager.default.createDirectory(atPath: scratch.file("containers"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.file("pods/p"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: scratch.file("containers/app.log"), withDestinationPath: "../pods/p/0.log")
        let source = TailSource(include: [scratch.file("containers/*.log")], startAt: .beginning, format: .plain)
        try scratch.append("pods/p/0.log", "a1\n")
        let engine = try TailTesting.engine(scratch, sink: sink, source: source)
        await engine.poll()
        await engine.close()
        // The kubelet's rotation while the agent is down: late lines, a rename next to the target, a new 0.log.
        try scratch.append("pods/p/0.log", "a2\n")
        try FileManager.default.moveItem(atPath: scratch.file("pods/p/0.log"), toPath: scratch.file("pods/p/0.log.20261207-030000"))
        try scratch.append("pods/p/0.log", "b1\n")
        let restarted = try TailTesting.engine(scratch, sink: sink, source: source)
        await restarted.poll()
        #expect(sink.bodies == ["a1", "a2", "b1"])
    }

    @Test("copytruncate while the agent was down: the copy holds the rest")
    func copyTruncateWhileDown() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let source = TailSource(include: [scratch.file("app.log")], startAt: .beginning, format: .plain)
        try scratch.append("app.log", "a1\n")
        let engine = try TailTesting.engine(scratch, sink: sink, source: source)
        await engine.poll()
        await engine.close()
        try scratch.append("app.log", "a2\n")
        try FileManager.default.copyItem(atPath: scratch.file("app.log"), toPath: scratch.file("app.log.1"))
        truncate(scratch.file("app.log"), 0)
        try scratch.append("app.log", "b1 is a longer line\n")
        let restarted = try TailTesting.engine(scratch, sink: sink, source: source)
        await restarted.poll()
        #expect(sink.bodies == ["a1", "a2", "b1 is a longer line"])
    }

    @Test("copytruncate whose copy is shorter than what was read: after a restart the copy is not read again")
    func shortCopyNotReadAfterRestart() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let source = TailSource(include: [scratch.file("app.log")], startAt: .beginning, format: .plain)
        // Copies are recognised by the first KiB: a file shorter than that only by its inode.
        let long = String(repeating: "x", count: 1100)
        try scratch.append("app.log", "a1 \(long)\na2\n")
        // logrotate read the file, the service appended a3, the tailer read it, then the truncate.
        let copied = try #require(FileManager.default.contents(atPath: scratch.file("app.log")))
        try scratch.append("app.log", "a3\n")
        let engine = try TailTesting.engine(scratch, sink: sink, source: source)
        await engine.poll()
        try copied.write(to: URL(fileURLWithPath: scratch.file("app.log.1")))
        truncate(scratch.file("app.log"), 0)
        try scratch.append("app.log", "b1 is a longer line\n")
        await engine.poll()
        await engine.close()
        let restarted = try TailTesting.engine(scratch, sink: sink, source: source)
        await restarted.poll()
        await restarted.poll()
        #expect(sink.bodies == ["a1 \(long)", "a2", "a3", "b1 is a longer line"])
    }

    @Test("copytruncate with the copies inside the glob: a copy of a finished stream is never read from its start, even after a restart")
    func copiesInsideTheGlob() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let source = TailSource(include: [scratch.file("app.log*")], startAt: .beginning, format: .plain)
        let long = String(repeating: "x", count: 1100)
        try scratch.append("app.log", "a1 \(long)\na2\n")
        let engine = try TailTesting.engine(scratch, sink: sink, source: source)
        await engine.poll()
        let copied = try #require(FileManager.default.contents(atPath: scratch.file("app.log")))
        try scratch.append("app.log", "a3\n")
        await engine.poll()
        try copied.write(to: URL(fileURLWithPath: scratch.file("app.log.1")))
        truncate(scratch.file("app.log"), 0)
        try scratch.append("app.log", "b1\n")
        await engine.poll()
        await engine.close()
        let restarted = try TailTesting.engine(scratch, sink: sink, source: source)
        await restarted.poll()
        await restarted.poll()
        #expect(sink.bodies == ["a1 \(long)", "a2", "a3", "b1"])
    }

    @Test("two rotations while the agent was down: the file it never saw is found among the rotations and read once")
    func fileBornAndRotatedWhileDown() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let source = TailSource(include: [scratch.file("app.log")], startAt: .beginning, format: .plain)
        try scratch.append("app.log.7", "old rotation, read long ago\n")
        try backdate(scratch.file("app.log.7"), seconds: 3600)
        try scratch.append("app.log", "a1\n")
        let engine = try TailTesting.engine(scratch, sink: sink, source: source)
        await engine.poll()
        await engine.close()
        try scratch.append("app.log", "a2\n")
        try FileManager.default.moveItem(atPath: scratch.file("app.log"), toPath: scratch.file("app.log.1"))
        try scratch.append("app.log", "b1\n")
        try FileManager.default.moveItem(atPath: scratch.file("app.log"), toPath: scratch.file("app.log.2"))
        try scratch.append("app.log", "c1\n")
        try scratch.append("app.log.2.gz", "compressed, not text\n")
        let restarted = try TailTesting.engine(scratch, sink: sink, source: source)
        await restarted.poll()
        #expect(sink.bodies.sorted() == ["a1", "a2", "b1", "c1"])
        await restarted.close()
        let again = try TailTesting.engine(scratch, sink: sink, source: source)
        await again.poll()
        #expect(sink.bodies.count == 4)
    }

    @Test("a file created and rotated away between two polls is read; a copy among the rotations is not")
    func fileBornAndRotatedBetweenPolls() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let source = TailSource(include: [scratch.file("app.log")], startAt: .beginning, format: .plain)
        try scratch.append("app.log", "a1\n")
        let engine = try TailTesting.engine(scratch, sink: sink, source: source)
        await engine.poll()
        try FileManager.default.moveItem(atPath: scratch.file("app.log"), toPath: scratch.file("app.log.1"))
        try scratch.append("app.log", "b1\n")
        try FileManager.default.copyItem(atPath: scratch.file("app.log.1"), toPath: scratch.file("app.log.1-20261122"))
        try FileManager.default.moveItem(atPath: scratch.file("app.log"), toPath: scratch.file("app.log.2"))
        try scratch.append("app.log", "c1\n")
        await engine.poll()
        await engine.poll()
        #expect(sink.bodies.sorted() == ["a1", "b1", "c1"])
    }

    @Test("rotation names: digits and dates after a separator; compressed or unrelated names are not rotations")
    func rotationNames() {
        for name in ["app.log.1", "app.log.12", "app.log-20261122", "app.log.2026-11-22", "app.log.2026-11-22_13", "app.log_3"] {
            #expect(RotatedSiblings.isRotation(name, of: "app.log"), "\(name)")
        }
        for name in ["app.log", "app.log.", "app.log.1.gz", "app.log.pos", "app.logger", "other.log.1", "app.log.1.zst"] {
            #expect(!RotatedSiblings.isRotation(name, of: "app.log"), "\(name)")
        }
    }

    private func backdate(_ path: String, seconds: Int) throws {
        let date = Date(timeIntervalSinceNow: -Double(seconds))
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: path)
    }
}
