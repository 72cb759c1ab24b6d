import PeriscopeCompression
import PeriscopeModel
import PeriscopeOTLP

/// What must hold for any bytes a service writes to a tailed file, checked end to end through
/// the tailer's own path (split, parse, map, redact, encode): libFuzzer drives it from the fuzz
/// package, and the tests replay its seeds and random mutations. A broken property stops the
/// process with a message naming it.
public enum LogLinesFuzzing {
    /// The time every fuzzed line is read at: 2024-05-01T12:00:00Z.
    static let observedUnixNano: UInt64 = 1_714_564_800_000_000_000
    static let pattern = #"^(?<time>\S+) \[(?<level>\w+)\] (?<msg>.*?)(?: rid=(?<request_id>\S+))?$"#

    /// The first byte chooses the format (JSON, logfmt, or plain text through a regex) and
    /// whether the default redaction rules apply; the rest is the file's bytes, cut into lines.
    /// Every non-empty line becomes one OTLP log record; the batch decodes as OTLP; a record's
    /// time is either absent (the read time stands) or inside the accepted bounds.
    public static func check(_ input: UnsafeRawBufferPointer) {
        checkReading(input)
        guard let selector = input.first else { return }
        let format: LogFormat = [.json, .logfmt, .plain][Int(selector % 3)]
        let parser = LogLineParser(format: format, pattern: format == .plain ? pattern : nil)
        let redactor = Redactor(rules: [], includeDefaults: selector & 4 != 0)
        let bounds = LogTimeBounds()
        let body = UnsafeRawBufferPointer(rebasing: input[1...])
        var records = RecordBuffer()
        var start = 0
        while start <= body.count {
            var end = start
            while end < body.count, body[end] != UInt8(ascii: "\n") { end += 1 }
            let line = UnsafeRawBufferPointer(rebasing: body[start..<end])
            records.append(RawLine(bytes: line, start: UInt64(start), end: UInt64(end + 1), truncatedFrom: nil))
            start = end + 1
        }
        var encoder = TailBatchEncoder()
        let batch = encoder.encode(
            records, range: 0..<records.count, parser: parser, resource: Resource(serviceName: "fuzz"), path: "/fuzz.log",
            fileName: "fuzz.log", redactor: redactor, timeBounds: bounds, observedUnixNano: observedUnixNano)
        let expected = (0..<records.count).filter { records[$0].textCount > 0 }.count
        precondition(batch.itemCount == expected, "\(expected) records with text, \(batch.itemCount) encoded")
        guard batch.itemCount > 0 else { return }
        let protobuf: [UInt8]
        do {
            protobuf = try Zstd.decompress(batch.body, limit: 1 << 30)
        } catch {
            preconditionFailure("the encoded batch does not decompress: \(error)")
        }
        let decoded: OTLPDecoder.Result
        do {
            decoded = try OTLPDecoder().decode(.logs, protobuf, format: .protobuf, nowUnixNano: observedUnixNano)
        } catch {
            preconditionFailure("the encoded batch is not valid OTLP: \(error.message)")
        }
        guard case .logs(let groups) = decoded.batch else { preconditionFailure("decoded as another signal") }
        let decodedRecords = groups.flatMap { $0.scopes.flatMap(\.records) }
        precondition(decodedRecords.count == batch.itemCount, "\(batch.itemCount) records encoded, \(decodedRecords.count) decoded")
        let accepted = bounds.accepted(around: observedUnixNano)
        for record in decodedRecords {
            precondition(record.timeUnixNano == 0 || accepted.contains(record.timeUnixNano), "a time out of bounds passed: \(record.timeUnixNano)")
            precondition(record.observedTimeUnixNano == observedUnixNano, "the read time is missing")
        }
    }

    /// What must hold for any bytes of a file cut into lines (`LineSplitter`) and, when the
    /// selector asks, joined into multiline records (`MultilineAssembler`): the records are the
    /// same however the reads cut the file; they cover it in order with no gap or overlap; their
    /// text is valid UTF-8 within `max_line_bytes` (tripled at most by repairs) or the record cap;
    /// a record that lost text says its length. The selector chooses `max_line_bytes`, the read
    /// size, the rule and its cap.
    static func checkReading(_ input: UnsafeRawBufferPointer) {
        guard let selector = input.first else { return }
        let maxLineBytes = [16, 61, 1_000, 1 << 20][Int(selector >> 3) & 3]
        let multiline = selector & 0x20 != 0
        let readSize = [1, 7, 100, 4_096][Int(selector >> 6) & 3]
        // A multiline record's cap, small enough for fuzzed files to reach.
        let recordCap = [64, 300, MultilineAssembler.maxRecordBytes][Int(selector % 3)]
        let body = UnsafeRawBufferPointer(rebasing: input[1...])

        func read(in size: Int) -> RecordBuffer {
            var splitter = LineSplitter(maxLineBytes: maxLineBytes, offset: 0)
            var assembler = MultilineAssembler(startPattern: multiline ? #"^\S"# : nil, maxRecordBytes: recordCap)
            var records = RecordBuffer()
            var offset = 0
            while offset < body.count {
                let end = min(body.count, offset + size)
                splitter.feed(UnsafeRawBufferPointer(rebasing: body[offset..<end])) { assembler.add($0, into: &records) }
                offset = end
            }
            splitter.flushPartial { assembler.add($0, into: &records) }
            assembler.flush(into: &records)
            return records
        }
        let whole = read(in: max(1, body.count))
        let pieces = read(in: readSize)
        precondition(whole.count == pieces.count, "\(whole.count) records read at once, \(pieces.count) in reads of \(readSize)")
        var next: UInt64 = 0
        for index in 0..<whole.count {
            let record = whole[index], other = pieces[index]
            precondition(
                record.start == other.start && record.end == other.end && record.truncatedFrom == other.truncatedFrom
                    && record.invalidUTF8 == other.invalidUTF8, "record \(index) differs with reads of \(readSize): \(record) against \(other)")
            precondition(record.start == next && record.end > record.start, "record \(index) does not follow the one before it")
            next = record.end
            let text = whole.withText(of: record) { Array($0) }
            precondition(text == pieces.withText(of: other) { Array($0) }, "record \(index)'s text differs with reads of \(readSize)")
            precondition(String(validating: text, as: UTF8.self) != nil, "record \(index) is not valid UTF-8")
            precondition(text.count <= (multiline ? recordCap : 3 * maxLineBytes), "record \(index) holds \(text.count) bytes")
            // What the record's lines held in the file, without the last newline.
            let content = Int(record.end - record.start) - (body[Int(record.end) - 1] == 0x0A ? 1 : 0)
            precondition(record.truncatedFrom == nil || record.truncatedFrom == content, "record \(index) says it was \(record.truncatedFrom!) bytes, not \(content)")
            if !multiline {
                precondition((record.truncatedFrom != nil) == (content > maxLineBytes), "record \(index): a line of \(content) bytes, cut: \(record.truncatedFrom.map(String.init) ?? "no")")
            } else if record.truncatedFrom == nil {
                // Nothing left out: every byte of the lines is there but the carriage returns of CRLF
                // endings (repairs never shrink text).
                var carriageReturns = 0
                for position in Int(record.start)..<(Int(record.end) - 1) where body[position] == 0x0D && body[position + 1] == 0x0A {
                    carriageReturns += 1
                }
                precondition(text.count >= content - carriageReturns, "record \(index) lost text unmarked: \(text.count) of \(content) bytes")
            }
        }
        precondition(next == UInt64(body.count), "the records end at \(next), the file at \(body.count)")
    }
}
