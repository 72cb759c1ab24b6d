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
}
