import Foundation
import PeriscopeLogLines
import PeriscopeModel
import PeriscopeTesting
@testable import PeriscopeAgent
import Testing

@Suite("Tail: reading files", .serialized)
struct TailReadingTests {
    @Test("complete lines are sent; a partial last line waits for its newline, then for the timeout")
    func partialLine() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let clock = ManualClock()
        let engine = try TailTesting.engine(
            scratch, sink: sink, source: TailSource(include: [], startAt: .beginning, format: .plain), timeline: Timeline(clock))
        try scratch.append("a.log", "one\ntwo\nthr")
        await engine.poll()
        #expect(sink.bodies == ["one", "two"])
        try scratch.append("a.log", "ee\nfou")
        await engine.poll()
        #expect(sink.bodies == ["one", "two", "three"])
        clock.advance(by: .milliseconds(149))
        await engine.poll()
        #expect(sink.bodies == ["one", "two", "three"], "the partial line waits out its timeout")
        clock.advance(by: .milliseconds(1))
        await engine.poll()
        #expect(sink.bodies == ["one", "two", "three", "fou"], "flushed after the timeout because the file did not grow")
        let checkpoints = try TailCheckpoints.load(scratch.file("tail-checkpoints.json"))
        #expect(checkpoints.files.first?.offset == 17)
        // A pending range, if the last save wrote one, ends where the committed offset is: nothing beyond it is in flight.
        #expect(checkpoints.files.first.map { $0.pendingEnd == nil || $0.pendingEnd == 17 } == true)
        let statistics = await engine.statistics
        #expect(statistics.linesRead == 4 && statistics.bytesRead == 17 && statistics.filesWatched == 1)
    }

    @Test("CRLF endings, blank lines skipped, start_at end skips what is there at the first poll only")
    func startAtEnd() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        try scratch.append("old.log", "before\n")
        let engine = try TailTesting.engine(scratch, sink: sink, source: TailSource(include: [], startAt: .end, format: .plain))
        await engine.poll()
        #expect(sink.bodies.isEmpty)
        try scratch.append("old.log", "after\r\n\n\n")
        try scratch.append("new.log", "fresh file from its start\n")
        await engine.poll()
        #expect(Set(sink.bodies) == ["after", "fresh file from its start"])
    }

    @Test("an over-long line is cut to max_line_bytes, marked, and reading continues at the next line")
    func longLine() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        var source = TailSource(include: [], startAt: .beginning, format: .json)
        source.maxLineBytes = 100
        let engine = try TailTesting.engine(scratch, sink: sink, source: source)
        let long = "{\"msg\":\"" + String(repeating: "x", count: 3_000_000) + "\"}"
        try scratch.append("a.log", long + "\n{\"msg\":\"next\"}\n")
        await engine.poll()
        let records = sink.records
        #expect(records.count == 2)
        #expect(records.first?.attributes["periscope.truncated"] == .bool(true))
        #expect(records.first?.attributes["periscope.original_length"] == .int(Int64(long.utf8.count)))
        #expect(records.first?.body.text.utf8.count == 100)
        #expect(records.last?.body == .string("next"))
        #expect(await engine.statistics.truncatedLines == 1)
    }

    @Test("invalid UTF-8 and binary garbage become plain bodies with U+FFFD, never a crash")
    func invalidUTF8() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let engine = try TailTesting.engine(scratch, sink: sink)
        var garbage: [UInt8] = Array("{\"msg\":\"caf".utf8) + [0xC3, 0x28] + Array("\"}\n".utf8)
        var generator = SystemRandomNumberGenerator()
        garbage += (0..<5000).map { _ in UInt8.random(in: 0...255, using: &generator) }.map { $0 == 0x0A ? 0x00 : $0 }
        garbage += Array("\n{\"msg\":\"ok\"}\n".utf8)
        try scratch.append("a.log", garbage)
        await engine.poll()
        let records = sink.records
        #expect(records.count == 3)
        #expect(records[0].body.text.contains("\u{FFFD}"))
        #expect(records[0].attributes["periscope.invalid_utf8"] == .bool(true))
        #expect(records[1].attributes["periscope.parse_error"] == .bool(true))
        #expect(records[2].body == .string("ok"))
        #expect(await engine.statistics.parseFailures == 1)
    }

    /// An engine reading plain lines whose records start with a date (`^\d{4}-`), closed after
    /// 150 ms without growth on the returned clock.
    static func multilineEngine() throws -> (TailScratch, RecordingTailSink, ManualClock, TailEngine) {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        var source = TailSource(include: [], startAt: .beginning, format: .plain)
        source.multiline = .init(startPattern: #"^\d{4}-"#, timeout: .milliseconds(150))
        let clock = ManualClock()
        return (scratch, sink, clock, try TailTesting.engine(scratch, sink: sink, source: source, timeline: Timeline(clock)))
    }

    @Test("multiline: continuation lines join the record before them; the timeout closes the last one")
    func multiline() async throws {
        let (scratch, sink, clock, engine) = try Self.multilineEngine()
        try scratch.append("a.log", "2024-05-01 start\nError: boom\n  at a()\n  at b()\n2024-05-01 next\n")
        await engine.poll()
        #expect(sink.bodies == ["2024-05-01 start\nError: boom\n  at a()\n  at b()"])
        let checkpoint = try TailCheckpoints.load(scratch.file("tail-checkpoints.json")).files[0]
        #expect(checkpoint.offset == 47, "the open record is not checkpointed")
        try scratch.append("a.log", "  more of next\n")
        await engine.poll()
        #expect(sink.bodies.count == 1, "still open: the timeout counts from the last growth")
        clock.advance(by: .milliseconds(150))
        await engine.poll()
        #expect(sink.bodies.last == "2024-05-01 next\n  more of next")
    }

    @Test("multiline: a record holds at most 1 MiB of text however many continuation lines come (the rest is read, counted and marked), again and again; the next start is whole")
    func multilineRecordIsCapped() async throws {
        let (scratch, sink, clock, engine) = try Self.multilineEngine()
        // Three records of a start line and 300 continuation lines of two-byte characters (9,999 bytes a line
        // in the file): each ~3 MB, and the cap falls inside a character.
        let continuation = String(repeating: "é", count: 4_999) + "\n"
        let start = "2024-05-01 trace\n"
        for round in 0..<3 {
            try scratch.append("a.log", start + String(repeating: continuation, count: 300))
            await engine.poll()
            #expect(sink.bodies.count == round, "the record is still open")
        }
        try scratch.append("a.log", "2024-05-01 last\n")
        await engine.poll()
        let records = sink.state.withLock { $0.records }
        #expect(records.count == 3)
        let spanned = start.utf8.count + 300 * continuation.utf8.count
        for record in records {
            let body = record.body.text
            #expect(body.utf8.count == (1 << 20) - 1, "cut before the character the cap falls in: \(body.utf8.count) bytes")
            #expect(body.hasPrefix("2024-05-01 trace\néé") && body.hasSuffix("é"))
            #expect(!body.unicodeScalars.contains("\u{FFFD}"))
            #expect(record.attributes["periscope.truncated"] == .bool(true))
            #expect(record.attributes["periscope.original_length"] == .int(Int64(spanned - 1)), "the bytes of the file the record spans, without its last newline")
        }
        // Every capped record's lines are committed; the start line after them is a record of its own, whole.
        let checkpoint = try TailCheckpoints.load(scratch.file("tail-checkpoints.json")).files[0]
        #expect(checkpoint.offset == UInt64(3 * spanned))
        clock.advance(by: .milliseconds(150))
        await engine.poll()
        #expect(sink.bodies.count == 4 && sink.bodies.last == "2024-05-01 last")
    }

    @Test("multiline: the open record's text stays within its cap while lines keep coming, cut between characters; a line of one record keeps its own cut length")
    func multilineAssemblerHoldsAtMostItsCap() {
        var assembler = MultilineAssembler(startPattern: #"^START"#)
        var records = RecordBuffer()
        // Two-byte characters after a 7-byte start line: the cap falls inside one.
        let line = Array(String(repeating: "é", count: 30_000).utf8)
        var offset: UInt64 = 0
        var most = (count: 0, capacity: 0)
        for index in 0..<2_000 {
            let bytes = index % 1_000 == 0 ? Array("START!!".utf8) : line
            bytes.withUnsafeBytes { raw in
                assembler.add(RawLine(bytes: raw, start: offset, end: offset + UInt64(bytes.count) + 1, truncatedFrom: nil), into: &records)
            }
            offset += UInt64(bytes.count) + 1
            let open = assembler.openBytes
            most = (max(most.count, open.count), max(most.capacity, open.capacity))
        }
        assembler.flush(into: &records)
        #expect(most.count == MultilineAssembler.maxRecordBytes - 1)
        #expect(most.capacity <= MultilineAssembler.maxRecordBytes + MultilineAssembler.maxRecordBytes / 16, "never grown past the cap (but for the allocator's rounding): \(most.capacity)")
        #expect(records.count == 2)
        for index in 0..<records.count {
            #expect(records[index].textCount == MultilineAssembler.maxRecordBytes - 1)
            #expect(records[index].truncatedFrom == 7 + 999 * 60_001)
            #expect(!records[index].invalidUTF8)
        }
        var text = [UInt8]()
        records.withText(of: records[0]) { text = Array($0) }
        #expect(String(validating: text, as: UTF8.self) != nil, "the cut leaves whole characters")
        #expect(text.last != 0x0A)

        // A record at one byte short of the cap: a next line that starts with a two-byte character adds
        // nothing, not even its newline; invalid bytes in dropped text do not mark the record.
        var nearlyFull = MultilineAssembler(startPattern: #"^START"#)
        var more = RecordBuffer()
        let first = Array("START".utf8) + [UInt8](repeating: 0x61, count: MultilineAssembler.maxRecordBytes - 7)
        for bytes in [first, Array("éé".utf8), [0xFF, 0xFE]] {
            bytes.withUnsafeBytes { nearlyFull.add(RawLine(bytes: $0, start: 0, end: 10, truncatedFrom: nil), into: &more) }
        }
        nearlyFull.flush(into: &more)
        #expect(more.count == 1 && more[0].textCount == MultilineAssembler.maxRecordBytes - 2)
        #expect(!more[0].invalidUTF8)
        // One line cut to max_line_bytes keeps the length it had, as without a multiline rule.
        var single = MultilineAssembler(startPattern: #"^START"#)
        var one = RecordBuffer()
        Array("START cut".utf8).withUnsafeBytes { single.add(RawLine(bytes: $0, start: 0, end: 101, truncatedFrom: 100), into: &one) }
        single.flush(into: &one)
        #expect(one.count == 1 && one[0].truncatedFrom == 100)
    }

    @Test("multiline, random lines (any bytes, up to 120 KB, starts at random): every record is valid UTF-8 within the cap, the records cover the lines in order with no gap, a capped one says the bytes it spans")
    func multilineRandomLines() {
        var random = SeededGenerator(seed: 0x5EED_2026_1206)
        // Printable ASCII, and one byte in four from 0x80...0xFF (invalid or multi-byte UTF-8).
        func randomLine(_ length: Int) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: length)
            var bits: UInt64 = 0
            for index in bytes.indices {
                if index % 4 == 0 { bits = random.next() }
                let byte = UInt8(truncatingIfNeeded: bits >> (UInt64(index % 4) * 16))
                bytes[index] = byte & 0x03 == 0 ? byte | 0x80 : 0x20 + byte % 95
            }
            return bytes
        }
        var capped = 0
        for round in 0..<4 {
            var assembler = MultilineAssembler(startPattern: #"^S"#)
            var records = RecordBuffer()
            var offset: UInt64 = 0
            var starts: [UInt64] = []
            for _ in 0..<120 {
                let long = Int.random(in: 0...5, using: &random) == 0
                var bytes = randomLine(long ? Int.random(in: 0...120_000, using: &random) : Int.random(in: 0...40, using: &random))
                if bytes.first == UInt8(ascii: "S") { bytes[0] = UInt8(ascii: "s") }
                // Almost no starts in odd rounds: records run past the cap.
                if offset == 0 || Int.random(in: 0..<(round % 2 == 0 ? 8 : 1_000), using: &random) == 0 {
                    bytes.insert(UInt8(ascii: "S"), at: 0)
                    starts.append(offset)
                }
                let end = offset + UInt64(bytes.count) + 1
                bytes.withUnsafeBytes { assembler.add(RawLine(bytes: $0, start: offset, end: end, truncatedFrom: nil), into: &records) }
                offset = end
                #expect(assembler.openBytes.count <= MultilineAssembler.maxRecordBytes)
                // Allocated as asked, but for the allocator's rounding up.
                #expect(assembler.openBytes.capacity <= MultilineAssembler.maxRecordBytes + MultilineAssembler.maxRecordBytes / 16)
            }
            assembler.flush(into: &records)
            #expect(records.count == starts.count, "one record a start line (fewer than 1,000 lines each)")
            var expectedStart: UInt64 = 0
            for index in 0..<records.count {
                let record = records[index]
                #expect(record.start == expectedStart && record.start == starts[index])
                expectedStart = record.end
                #expect(record.textCount <= MultilineAssembler.maxRecordBytes)
                records.withText(of: record) { text in
                    #expect(String(validating: text, as: UTF8.self) != nil)
                    #expect(text.first == UInt8(ascii: "S"))
                }
                if record.truncatedFrom != nil {
                    capped += 1
                    #expect(record.truncatedFrom == Int(record.end - record.start) - 1)
                    #expect(record.textCount >= MultilineAssembler.maxRecordBytes - 4)
                }
            }
            #expect(expectedStart == offset, "the last record ends where the lines end")
        }
        #expect(capped > 0, "some records reached the cap")
    }

    @Test("back-pressure: a full queue pauses the file and retries the same lines; nothing dropped or doubled")
    func backPressure() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let engine = try TailTesting.engine(scratch, sink: sink, source: TailSource(include: [], startAt: .beginning, format: .plain))
        try scratch.append("a.log", (1...100).map { "line \($0)\n" }.joined())
        sink.failNext(3)
        await engine.poll()
        #expect(sink.bodies == (1...100).map { "line \($0)" })
        #expect(sink.state.withLock { $0.appendCalls } == 4)
        #expect(await engine.statistics.backPressurePauses == 1)
    }

    /// Follows `app.log` while the queue refuses everything; after the first refusal, rotates it
    /// `generations` times keeping only `app.log.1` (generation g's text by `text(g)`), each
    /// rotation seen by one retry; then reports how many files the tailer held, lets the queue
    /// take everything, polls until every file is read and released, and answers what was sent.
    static func rotateDuringPause(generations: Int, text: (Int) -> String) async throws -> (held: Int, sink: RecordingTailSink, watched: [String], appLog: String) {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let clock = ManualClock()
        let engine = try TailTesting.engine(
            scratch, sink: sink, source: TailSource(include: [scratch.file("app.log")], startAt: .beginning, format: .plain),
            timeline: Timeline(clock))
        try scratch.append("app.log", text(0))
        sink.failNext(Int.max)
        let polling = Task { await engine.poll() }
        for generation in 1...generations {
            #expect(await clock.waitForSleepers(), "the tailer waits on the full queue")
            try? FileManager.default.removeItem(atPath: scratch.file("app.log.1"))
            try FileManager.default.moveItem(atPath: scratch.file("app.log"), toPath: scratch.file("app.log.1"))
            try scratch.append("app.log", text(generation))
            clock.advance(by: .seconds(2))
        }
        #expect(await clock.waitForSleepers())
        let held = await engine.watchedPaths.count
        sink.failNext(0)
        clock.advance(by: .seconds(2))
        _ = await polling.value
        for _ in 0..<3 { await engine.poll() }
        clock.advance(by: TailEngine.rotatedGrace)
        await engine.poll()
        return (held, sink, await engine.watchedPaths, scratch.file("app.log"))
    }

    @Test("files created and rotated away while a full queue pauses reading are held open and read once the queue has room")
    func rotationsDuringPause() async throws {
        // Each rotation keeps only `app.log.1`: by the third, the file the pause began in and the
        // first files made during it are deleted; only what the tailer opened is still readable.
        let generations = 6
        let (held, sink, watched, appLog) = try await Self.rotateDuringPause(generations: generations) { generation in
            (1...50).map { "g\(generation) \($0)\n" }.joined()
        }
        #expect(held == generations + 1, "every file seen during the pause is held")
        let expected = (0...generations).flatMap { generation in (1...50).map { "g\(generation) \($0)" } }
        #expect(sink.bodies.count == expected.count, "no line lost or sent twice")
        #expect(Set(sink.bodies) == Set(expected))
        #expect(sink.state.withLock { $0.duplicateBatches } == 0)
        #expect(watched == [appLog], "the deleted files are released once read")
    }

    @Test("a pause holds at most maxHeldRotations rotated files open; the newest file is followed again after it")
    func heldRotationsAreBounded() async throws {
        let generations = TailEngine.maxHeldRotations + 10
        let (held, sink, watched, appLog) = try await Self.rotateDuringPause(generations: generations) { "g\($0)\n" }
        #expect(held == TailEngine.maxHeldRotations + 1, "the rotated files held and the newest one opened: \(held)")
        let bodies = sink.bodies
        #expect(Set(bodies).count == bodies.count, "nothing sent twice")
        #expect(Set(bodies).isSuperset(of: (0...TailEngine.maxHeldRotations).map { "g\($0)" }), "every held file was read")
        #expect(bodies.contains("g\(generations)"), "the file written last is followed")
        #expect(watched == [appLog])
    }

    @Test("rename-and-create: the renamed file is read to its end and released, the new one read from 0")
    func renameRotation() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let clock = ManualClock()
        let engine = try TailTesting.engine(
            scratch, sink: sink, source: TailSource(include: [scratch.file("app.log")], startAt: .beginning, format: .plain), timeline: Timeline(clock))
        try scratch.append("app.log", "a1\n")
        await engine.poll()
        try scratch.append("app.log", "a2\n")
        try FileManager.default.moveItem(atPath: scratch.file("app.log"), toPath: scratch.file("app.log.1"))
        try scratch.append("app.log.1", "a3 (late write to the old file)\n")
        try scratch.append("app.log", "b1\n")
        await engine.poll()
        #expect(sink.bodies == ["a1", "a2", "a3 (late write to the old file)", "b1"])
        let watched = await engine.watchedPaths
        #expect(watched == [scratch.file("app.log"), scratch.file("app.log")], "the renamed file keeps the name its lines were written under")
        try FileManager.default.removeItem(atPath: scratch.file("app.log.1"))
        clock.advance(by: TailEngine.rotatedGrace)
        await engine.poll()
        #expect(await engine.watchedPaths == [scratch.file("app.log")], "a deleted, fully read file is released once it has not grown for the grace")
    }

    @Test("a file deleted while its writer goes on writing is read until it stops growing for the grace, then its descriptor is closed")
    func deletedWhileRead() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let clock = ManualClock()
        let engine = try TailTesting.engine(
            scratch, sink: sink, source: TailSource(include: [], startAt: .beginning, format: .plain), timeline: Timeline(clock))
        try scratch.append("a.log", "x\n")
        await engine.poll()
        let fd = open(scratch.file("a.log"), O_WRONLY | O_APPEND)
        defer { close(fd) }
        try FileManager.default.removeItem(atPath: scratch.file("a.log"))
        var expected = ["x"]
        // The writer keeps its descriptor and writes on, a line per poll, across several graces.
        for line in 0..<6 {
            let text = "after delete \(line)\n"
            _ = text.withCString { write(fd, $0, strlen($0)) }
            expected.append("after delete \(line)")
            await engine.poll()
            #expect(await engine.watchedPaths.count == 1, "still growing: held")
            clock.advance(by: TailEngine.rotatedGrace / 2)
        }
        #expect(sink.bodies == expected)
        clock.advance(by: TailEngine.rotatedGrace)
        await engine.poll()
        #expect(await engine.watchedPaths.isEmpty, "released once it has not grown for the grace")
        #expect(sink.bodies == expected)
    }

    @Test("truncation restarts at 0; same-size rewrite is caught by the fingerprint")
    func truncation() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let engine = try TailTesting.engine(scratch, sink: sink, source: TailSource(include: [], startAt: .beginning, format: .plain))
        try scratch.append("a.log", "first content line\n")
        await engine.poll()
        truncate(scratch.file("a.log"), 0)
        try scratch.append("a.log", "new\n")
        await engine.poll()
        // Rewritten to at least the old length with other bytes: only the fingerprint can tell.
        truncate(scratch.file("a.log"), 0)
        try scratch.append("a.log", "other content, longer than before\n")
        await engine.poll()
        #expect(sink.bodies == ["first content line", "new", "other content, longer than before"])
        #expect(await engine.statistics.truncations == 2)
    }

    @Test("copytruncate: a copy of the followed file is not read again; after the truncate the copy supplies what was not read")
    func copyTruncate() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let engine = try TailTesting.engine(scratch, sink: sink, source: TailSource(include: [scratch.file("app.log*")], startAt: .beginning, format: .plain))
        try scratch.append("app.log", "l1\nl2\n")
        await engine.poll()
        try scratch.append("app.log", "l3\n")
        // The copy: holds l1–l3 and appears before the truncate (the glob matches it too).
        try FileManager.default.copyItem(atPath: scratch.file("app.log"), toPath: scratch.file("app.log.1"))
        await engine.poll()
        #expect(sink.bodies == ["l1", "l2", "l3"], "the copy is recognised by its fingerprint, not read again")
        try scratch.append("app.log", "l4 (after the copy, before the truncate: lost)\n")
        truncate(scratch.file("app.log"), 0)
        try scratch.append("app.log", "m1\n")
        await engine.poll()
        #expect(sink.bodies == ["l1", "l2", "l3", "m1"])
    }

    @Test("copytruncate when the agent lagged: the unread rest comes from the copy, exactly once")
    func copyTruncateLagging() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let engine = try TailTesting.engine(scratch, sink: sink, source: TailSource(include: [scratch.file("app.log")], startAt: .beginning, format: .plain))
        try scratch.append("app.log", "l1\n")
        await engine.poll()
        try scratch.append("app.log", "l2\nl3\n")
        try FileManager.default.copyItem(atPath: scratch.file("app.log"), toPath: scratch.file("app.log.1"))
        truncate(scratch.file("app.log"), 0)
        try scratch.append("app.log", "m1 with more bytes than before\n")
        await engine.poll()
        #expect(sink.bodies == ["l1", "l2", "l3", "m1 with more bytes than before"])
    }

    @Test("a file that merely starts like a followed one is followed once it outgrows it")
    func lookalikeFile() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let engine = try TailTesting.engine(scratch, sink: sink, source: TailSource(include: [], startAt: .beginning, format: .plain))
        try scratch.append("a.log", "same banner\n")
        await engine.poll()
        try scratch.append("b.log", "same banner\n")
        await engine.poll()
        #expect(sink.bodies == ["same banner"], "taken for a copy while it is no larger than the original")
        try scratch.append("b.log", "b grows on its own\n")
        await engine.poll()
        #expect(sink.bodies == ["same banner", "same banner", "b grows on its own"])
    }
}
