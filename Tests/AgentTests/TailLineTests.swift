import Foundation
@testable import PeriscopeAgent
import PeriscopeLogLines
import PeriscopeModel
import PeriscopeTesting
import Testing

@Suite("Tail: lines and records")
struct TailLineTests {
    /// Lines of `bytes` as the splitter hands them over when fed in chunks of the given sizes.
    static func split(_ bytes: [UInt8], chunks: [Int], maxLineBytes: Int) -> (lines: [[UInt8]], ranges: [Range<UInt64>], cut: [Int?]) {
        var splitter = LineSplitter(maxLineBytes: maxLineBytes, offset: 0)
        var lines: [[UInt8]] = []
        var ranges: [Range<UInt64>] = []
        var cut: [Int?] = []
        var position = 0
        var index = 0
        bytes.withUnsafeBytes { all in
            while position < all.count {
                let size = min(chunks[index % chunks.count], all.count - position)
                splitter.feed(UnsafeRawBufferPointer(rebasing: all[position..<(position + size)])) { line in
                    lines.append(Array(line.bytes))
                    ranges.append(line.start..<line.end)
                    cut.append(line.truncatedFrom)
                }
                position += size
                index += 1
            }
        }
        splitter.flushPartial { line in
            lines.append(Array(line.bytes))
            ranges.append(line.start..<line.end)
            cut.append(line.truncatedFrom)
        }
        return (lines, ranges, cut)
    }

    @Test("any chunking gives the same lines, offsets, CR stripping and cuts as reading the stream whole")
    func chunkBoundaries() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = Array("ab\r\n\n{}x".utf8)
        for _ in 0..<300 {
            let bytes = (0..<Int.random(in: 0...200, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            let maxLineBytes = Int.random(in: 1...12, using: &generator)
            let whole = Self.split(bytes, chunks: [max(bytes.count, 1)], maxLineBytes: maxLineBytes)
            let chunks = (0..<5).map { _ in Int.random(in: 1...9, using: &generator) }
            let pieces = Self.split(bytes, chunks: chunks, maxLineBytes: maxLineBytes)
            #expect(pieces.lines == whole.lines && pieces.ranges == whole.ranges && pieces.cut == whole.cut, "\(bytes) in \(chunks)")
            // The ranges tile the stream, and each kept line is what the stream holds there.
            #expect(whole.ranges.first?.lowerBound ?? 0 == 0 && whole.ranges.last?.upperBound ?? 0 == UInt64(bytes.count))
            for (line, range) in zip(whole.lines, whole.ranges) {
                let content = Array(bytes[Int(range.lowerBound)..<Int(range.upperBound)])
                let body = content.last == 0x0A ? Array(content.dropLast()) : content
                var expected = Array(body.prefix(maxLineBytes))
                if body.count <= maxLineBytes, content.last == 0x0A, expected.last == 0x0D { expected.removeLast() }
                #expect(line == expected, "\(content) → \(line)")
            }
        }
    }

    @Test("UTF-8 validation agrees with the standard library on random and edge-case bytes")
    func utf8Validation() {
        var generator = SystemRandomNumberGenerator()
        let edges: [[UInt8]] = [
            [], [0x41], [0xC2, 0x80], [0xC1, 0xBF], [0xE0, 0x9F, 0x80], [0xE0, 0xA0, 0x80], [0xED, 0xA0, 0x80], [0xED, 0x9F, 0xBF],
            [0xF0, 0x8F, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80],
            [0xE2, 0x82], Array("plain ascii text longer than a word".utf8) + [0xFF], Array("é😀ü".utf8),
        ]
        let pool: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0xA0, 0x9F, 0x90, 0x8F]
        let random = (0..<5000).map { _ in (0..<Int.random(in: 0...20, using: &generator)).map { _ in pool.randomElement(using: &generator)! } }
        // ASCII runs past the 32- and 8-byte steps, with one byte of the pool anywhere in them.
        var long: [[UInt8]] = []
        for count in 1...100 {
            for position in 0..<count {
                var bytes = [UInt8](repeating: 0x61, count: count)
                bytes[position] = pool.randomElement(using: &generator)!
                long.append(bytes)
                if position + 1 < count, bytes[position] >= 0xC2 && bytes[position] <= 0xDF {
                    bytes[position + 1] = 0x80
                    long.append(bytes)
                }
            }
        }
        for bytes in edges + random + long {
            let expected = String(validating: bytes, as: UTF8.self) != nil
            #expect(bytes.withUnsafeBufferPointer { UTF8Validation.isValid($0) } == expected, "\(bytes)")
        }
    }

    @Test("a line cut at max_line_bytes inside a character ends before that character, unmarked; invalid bytes near the cut are still repaired and marked")
    func cutInsideACharacter() {
        func appended(_ bytes: [UInt8], truncated: Bool) -> (text: [UInt8], invalid: Bool) {
            var out: [UInt8] = []
            let invalid = bytes.withUnsafeBytes { RecordBuffer.appendRepaired($0, truncated: truncated, to: &out) }
            return (out, invalid)
        }
        for character in ["é", "€", "😀"] {
            let whole = Array(String(repeating: character, count: 40_000).utf8)
            for cut in 65_530..<65_540 {
                let (text, invalid) = appended(Array(whole[0..<cut]), truncated: true)
                let width = character.utf8.count
                #expect(text.count == cut - cut % width, "\(character) cut at \(cut)")
                #expect(String(validating: text, as: UTF8.self) != nil)
                #expect(!invalid, "a split character is the cut's doing, not the source's")
            }
        }
        let garbage = appended(Array("abc".utf8) + [0xFF], truncated: true)
        #expect(garbage.invalid && garbage.text == Array("abc\u{FFFD}".utf8))
        let split = appended(Array("abc".utf8) + [0xE2, 0x82], truncated: false)
        #expect(split.invalid, "a whole line ending in half a character is the source's")
    }

    @Test("records keep their text and ranges when the first ones are dropped")
    func recordBuffer() {
        var buffer = RecordBuffer()
        for (index, text) in ["one", "", "three", "caf\u{E9}"].enumerated() {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBytes { buffer.append(RawLine(bytes: $0, start: UInt64(index * 10), end: UInt64(index * 10 + 10), truncatedFrom: nil)) }
        }
        [UInt8]([0xC3, 0x28]).withUnsafeBytes { buffer.append(RawLine(bytes: $0, start: 40, end: 43, truncatedFrom: nil)) }
        buffer.removeFirst(2)
        let texts = (0..<buffer.count).map { buffer.withText(of: buffer[$0]) { String(decoding: $0, as: UTF8.self) } }
        #expect(texts == ["three", "caf\u{E9}", "\u{FFFD}("])
        #expect((0..<buffer.count).map { buffer[$0].start } == [20, 30, 40])
        #expect((0..<buffer.count).map { buffer[$0].invalidUTF8 } == [false, false, true])
        #expect(buffer.textCapacity < 2 * RecordBuffer.firstChunkCapacity, "a few short records hold \(buffer.textCapacity) bytes of text storage")
        buffer.removeFirst(3)
        #expect(buffer.isEmpty && buffer.chunkCount == 0)
    }

    @Test("a batch ends at the record count or at the record whose text reaches the byte limit, and says whether it is full")
    func recordBufferBatch() {
        var buffer = RecordBuffer()
        let lengths = [5, 0, 7, 3, 9, 1, 4]
        for (index, length) in lengths.enumerated() {
            let bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
            bytes.withUnsafeBytes { buffer.append(RawLine(bytes: $0, start: UInt64(index * 10), end: UInt64(index * 10 + 10), truncatedFrom: nil)) }
        }
        // The model: take records while fewer than maxCount are taken and fewer than maxBytes of text.
        for start in 0...(lengths.count + 1) {
            for maxCount in 1...8 {
                for maxBytes in 1...30 {
                    var count = 0
                    var bytes = 0
                    while start + count < lengths.count, count < maxCount, bytes < maxBytes {
                        bytes += lengths[start + count]
                        count += 1
                    }
                    let batch = buffer.batch(from: start, maxCount: maxCount, maxBytes: maxBytes)
                    #expect(batch.count == count, "start \(start), \(maxCount) records, \(maxBytes) bytes")
                    #expect(batch.full == (count >= maxCount || bytes >= maxBytes), "start \(start), \(maxCount) records, \(maxBytes) bytes")
                }
            }
        }
        #expect(buffer.batch(from: 0, maxCount: 3, maxBytes: 1000) == (count: 3, full: true))
        #expect(buffer.batch(from: 4, maxCount: 100, maxBytes: 1000) == (count: 3, full: false))
        #expect(buffer.batch(from: 0, maxCount: 100, maxBytes: 12) == (count: 3, full: true))
    }

    @Test("records in many chunks: 300,000 lines added and dropped in uneven steps keep their text, and memory stays bounded")
    func recordBufferChunks() {
        var buffer = RecordBuffer()
        var model: [(text: [UInt8], start: UInt64)] = []
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        var offset: UInt64 = 0
        var added = 0
        var largestCapacity = 0
        while added < 300_000 {
            // Ordinary lines, now and then one longer than a chunk or an empty one.
            for _ in 0..<Int.random(in: 1...6000, using: &generator) {
                let roll = Int.random(in: 0..<1000, using: &generator)
                let length = roll == 0 ? RecordBuffer.chunkCapacity + Int.random(in: 1...5000, using: &generator) : roll == 1 ? 0 : Int.random(in: 1...400, using: &generator)
                let text = (0..<length).map { UInt8(truncatingIfNeeded: $0 &+ added) & 0x7F }
                if roll == 2 {
                    // A multiline record, already joined.
                    buffer.append(text: text, start: offset, end: offset + UInt64(length) + 1, truncatedFrom: nil, invalidUTF8: false)
                } else {
                    text.withUnsafeBytes { buffer.append(RawLine(bytes: $0, start: offset, end: offset + UInt64(length) + 1, truncatedFrom: nil)) }
                }
                model.append((text, offset))
                offset += UInt64(length) + 1
                added += 1
            }
            // Check a few records at random, then drop a part of the front (sometimes everything).
            for _ in 0..<20 where !model.isEmpty {
                let index = Int.random(in: 0..<model.count, using: &generator)
                #expect(buffer.withText(of: buffer[index]) { Array($0) } == model[index].text, "seed \(seed)")
                #expect(buffer[index].start == model[index].start, "seed \(seed)")
            }
            let drop = Int.random(in: 0...10, using: &generator) == 0 ? model.count : Int.random(in: 0...model.count, using: &generator)
            buffer.removeFirst(drop)
            model.removeFirst(drop)
            #expect(buffer.count == model.count)
            let live = model.reduce(0) { $0 + $1.text.count }
            largestCapacity = max(largestCapacity, buffer.textCapacity - live)
        }
        for index in model.indices { #expect(buffer.withText(of: buffer[index]) { Array($0) } == model[index].text, "seed \(seed)") }
        // Beyond the live text: at most the unused end of each live chunk, a long line's own
        // chunk, and the spare chunks (about 2.4 MiB for 6,000 lines of at most 400 bytes).
        #expect(largestCapacity < 8 << 20, "text held beyond the live records: \(largestCapacity) bytes (seed \(seed))")
        buffer.removeFirst(buffer.count)
        #expect(buffer.textCapacity == 0, "an emptied buffer holds no text")
    }

    @Test("a file larger than one poll's budget is read on by the next poll, which is asked for at once")
    func pollBudget() async throws {
        let scratch = try TailScratch()
        let sink = RecordingTailSink()
        let engine = try TailTesting.engine(
            scratch, sink: sink, source: TailSource(include: [], startAt: .beginning, format: .plain), bytesPerPoll: 1 << 20)
        let line = String(repeating: "x", count: 99) + "\n"
        try scratch.append("a.log", String(repeating: line, count: 25_000))
        var behind: [Bool] = []
        for _ in 0..<4 { behind.append(await engine.poll()) }
        #expect(behind == [true, true, false, false])
        #expect(sink.bodies.count == 25_000)
    }

    @Test("decimals read without strtod equal Double(text); a quote, backslash or control byte is found at any offset of a string")
    func numbersAndStrings() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            let whole = String(UInt64.random(in: 0...999_999_999, using: &generator))
            let fraction = String(UInt64.random(in: 0...9_999_999, using: &generator))
            let text = (Bool.random(using: &generator) ? "-" : "") + String(whole.prefix(Int.random(in: 1...9, using: &generator))) + "."
                + String(fraction.prefix(Int.random(in: 1...7, using: &generator)))
            #expect(TailTesting.record("{\"d\":\(text)}").attributes["d"] == .double(Double(text)!), "\(text)")
        }
        for length in 0..<40 {
            for special in ["\\\"", "\\\\", "\\n"] where length > 0 {
                let text = String(repeating: "a", count: length)
                for offset in 0..<length {
                    var chars = Array(text)
                    chars.replaceSubrange(offset...offset, with: Array(special))
                    let json = String(chars)
                    let decoded = String(json.replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\").replacingOccurrences(of: "\\n", with: "\n"))
                    #expect(TailTesting.record("{\"s\":\"\(json)\"}").attributes["s"] == .string(decoded), "\(json)")
                }
            }
            let control = "{\"s\":\"" + String(repeating: "b", count: length) + "\u{1}x\"}"
            #expect(TailTesting.record(control).attributes["periscope.parse_error"] == .bool(true))
        }
    }

    @Test("levels and times of any JSON number never crash the parser")
    func hostileNumbers() {
        let record = TailTesting.record(#"{"level":1e300,"time":-1e300,"lvl":30.7,"msg":"m"}"#)
        #expect(record.severityNumber == .info)
        #expect(record.attributes["level"] == .double(1e300))
        #expect(record.attributes["time"] == .double(-1e300))
        #expect(record.timeUnixNano == 0)
    }
}

@Suite("Tail: record encoding")
struct TailEncodingTests {
    /// A random JSON value as text, and the attribute the tailer should make of it.
    static func value(depth: Int, using generator: inout SystemRandomNumberGenerator) -> (String, AttributeValue) {
        let strings = ["", "plain", "caf\u{E9} \u{1F600}", "quote \" and \\ slash", "tab\tnew\nline", "mail ann@example.org", "card 4111 1111 1111 1111",
                       "Bearer abc.def", "password=hunter2", String(repeating: "long ", count: 40), "2024-05-01T12:00:00Z", "0af7651916cd43dd8448eb211c80319c"]
        switch Int.random(in: 0...(depth < 2 ? 7 : 5), using: &generator) {
        case 0, 1:
            let text = strings.randomElement(using: &generator)!
            return (Self.quoted(text), .string(text))
        case 2:
            let number = Int64.random(in: -1_000_000_000_000...1_000_000_000_000_000, using: &generator)
            return (String(number), .int(number))
        case 3:
            let number = Double(Int.random(in: -100_000...100_000, using: &generator)) / 8
            return (String(number), .double(number))
        case 4:
            let flag = Bool.random(using: &generator)
            return (String(flag), .bool(flag))
        case 5:
            return ("null", .empty)
        case 6:
            let elements = (0..<Int.random(in: 0...3, using: &generator)).map { _ in value(depth: depth + 1, using: &generator) }
            return ("[" + elements.map(\.0).joined(separator: ",") + "]", .array(elements.map(\.1)))
        default:
            return ("[{\"k\":\"v\",\"n\":{\"m\":1}}]", .array([.keyValueList([Attribute("k", .string("v")), Attribute("n.m", .int(1))])]))
        }
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "@": out += "\\u0040"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    @Test("random lines (fields of every kind, escapes, nesting, well-known keys, garbage) encode to valid OTLP with every field where it belongs")
    func randomLines() {
        var generator = SystemRandomNumberGenerator()
        let keys = ["a", "user", "http.route", "", "k\u{E9}y", "nested", "n"]
        for round in 0..<40 {
            var lines: [String] = []
            var expected: [[Attribute]?] = []
            for _ in 0..<50 {
                if Int.random(in: 0..<10, using: &generator) == 0 {
                    lines.append(["{\"a\":", "not json", "{\"a\":1}}", "\u{1}"].randomElement(using: &generator)!)
                    expected.append(nil)
                    continue
                }
                var members: [String] = []
                var attributes: [Attribute] = []
                for _ in 0..<Int.random(in: 0...8, using: &generator) {
                    let key = keys.randomElement(using: &generator)!
                    let (text, value) = Self.value(depth: 0, using: &generator)
                    if key == "nested" {
                        members.append("\(Self.quoted(key)):{\"inner\":\(text)}")
                        attributes.append(Attribute("nested.inner", value))
                    } else {
                        members.append("\(Self.quoted(key)):\(text)")
                        attributes.append(Attribute(key, value))
                    }
                }
                let known = ["\"msg\":\"m\"", "\"level\":\"WARN\"", "\"ts\":1714564800", "\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\"",
                             "\"span_id\":\"b7ad6b7169203331\"", "\"request_id\":42"]
                // The well-known fields anywhere among the others, which keep their order.
                for field in known { members.insert(field, at: Int.random(in: 0...members.count, using: &generator)) }
                lines.append("{" + members.joined(separator: ", ") + "}")
                expected.append(attributes)
            }
            let redacting = round % 2 == 1
            let records = TailTesting.records(lines, redactor: Redactor(rules: [], includeDefaults: redacting))
            #expect(records.count == lines.count)
            for (record, attributes) in zip(records, expected) {
                guard let attributes else {
                    #expect(record.attributes["periscope.parse_error"] == .bool(true))
                    continue
                }
                #expect(record.body == .string("m") && record.severityNumber == .warn && record.timeUnixNano == 1_714_564_800_000_000_000)
                #expect(record.traceID?.hex == "0af7651916cd43dd8448eb211c80319c" && record.spanID?.hex == "b7ad6b7169203331")
                #expect(record.attributes["correlation_id"] == .string("42"))
                let own = record.attributes.filter { !["correlation_id", "log.file.path", "log.file.name"].contains($0.key) }
                if !redacting { #expect(own == attributes, "\(lines)") } else { #expect(own.map(\.key) == attributes.map(\.key)) }
            }
        }
    }
}
