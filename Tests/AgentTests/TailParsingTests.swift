import Foundation
@testable import PeriscopeAgent
import PeriscopeConfig
import PeriscopeLogLines
import PeriscopeModel
import PeriscopeServer
import Testing

@Suite("Tail: parsing and field mapping")
struct TailParsingTests {
    @Test("JSON lines: time, level, message, IDs, correlation ID, nested fields flattened")
    func jsonMapping() {
        let record = TailTesting.record(#"{"ts":"2024-05-01T12:00:00.5Z","level":"ERROR","msg":"boom","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","x-request-id":"req-9","http":{"status":503,"route":"/a"},"tags":["a",1],"ok":true,"ratio":0.5,"none":null}"#)
        #expect(record.timeUnixNano == 1_714_564_800_500_000_000)
        #expect(record.severityNumber == .error)
        #expect(record.severityText == "ERROR")
        #expect(record.body == .string("boom"))
        #expect(record.traceID?.hex == "0af7651916cd43dd8448eb211c80319c")
        #expect(record.spanID?.hex == "b7ad6b7169203331")
        #expect(record.attributes["correlation_id"] == .string("req-9"))
        #expect(record.attributes["http.status"] == .int(503))
        #expect(record.attributes["http.route"] == .string("/a"))
        #expect(record.attributes["tags"] == .array([.string("a"), .int(1)]))
        #expect(record.attributes["ok"] == .bool(true))
        #expect(record.attributes["ratio"] == .double(0.5))
        #expect(record.attributes["log.file.path"] == .string("/var/log/app.log"))
        #expect(record.attributes["log.file.name"] == .string("app.log"))
        #expect(record.attributes["periscope.parse_error"] == nil)
    }

    @Test("alternative keys: timestamp/@timestamp, severity/lvl, message, traceId/trace.id, spanId, correlation_id/request_id")
    func alternativeKeys() {
        let a = TailTesting.record(#"{"@timestamp":1714564800,"severity":"warning","message":"m","traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","correlation_id":"c"}"#)
        #expect(a.timeUnixNano == 1_714_564_800_000_000_000)
        #expect(a.severityNumber == .warn)
        #expect(a.body == .string("m"))
        #expect(a.traceID != nil && a.spanID != nil)
        #expect(a.attributes["correlation_id"] == .string("c"))
        let b = TailTesting.record(#"{"timestamp":"1714564800123","lvl":50,"trace":{"id":"0af7651916cd43dd8448eb211c80319c"},"request_id":17}"#)
        #expect(b.timeUnixNano == 1_714_564_800_123_000_000)
        #expect(b.severityNumber == .error)
        #expect(b.traceID?.hex == "0af7651916cd43dd8448eb211c80319c")
        #expect(b.attributes["correlation_id"] == .string("17"))
    }

    @Test("every time format: RFC 3339 with offsets and fractions, epoch s/ms/µs/ns as numbers and strings")
    func timeFormats() {
        let base: UInt64 = 1_714_564_800_000_000_000
        let cases: [(AttributeValue, UInt64?)] = [
            (.string("2024-05-01T12:00:00Z"), base),
            (.string("2024-05-01T14:00:00+02:00"), base),
            (.string("2024-05-01T07:30:00-0430"), base),
            (.string("2024-05-01 12:00:00.123456789Z"), base + 123_456_789),
            (.string("2024-05-01T12:00:00"), base),
            (.int(1_714_564_800), base),
            (.double(1_714_564_800.25), base + 250_000_000),
            (.int(1_714_564_800_123), base + 123_000_000),
            (.int(1_714_564_800_123_456), base + 123_456_000),
            (.int(1_714_564_800_123_456_789), base + 123_456_789),
            (.string("1714564800"), base),
            (.string("1714564800123456789"), base + 123_456_789),
            (.string("1714564800.5"), base + 500_000_000),
            (.string("yesterday"), nil),
            (.string("2024-13-01T00:00:00Z"), nil),
            (.string("2024-05-01T11:00:00+23:59"), base - 89_940_000_000_000),
            (.string("2024-05-01T12:00:00+24:00"), nil),
            (.string("2024-05-01T12:00:00+99:00"), nil),
            (.string("2024-05-01T12:00:00-01:60"), nil),
            (.int(-5), nil),
            (.bool(true), nil),
        ]
        for (value, expected) in cases {
            #expect(TimestampText.unixNano(value) == expected, "\(value)")
        }
    }

    @Test("times in one batch sharing their date and time to the second (read once) each read as alone: fractions, zones, bad endings, other formats between")
    func timesSharingASecond() {
        let texts = [
            "2024-05-01T12:00:00.001Z", "2024-05-01T12:00:00.002Z", "2024-05-01T12:00:00+02:00", "2024-05-01T12:00:00.5-0430",
            "2024-05-01T12:00:00", "2024-05-01T12:00:00.x", "2024-05-01T12:00:00Zjunk", "2024-05-01T12:00:00.",
            "1714564800123", "2024-05-01T12:00:01.250Z", "2024-05-01T12:00:00.750Z", "2024-05-01 12:00:00.750Z",
            "2024-05-01T12:00:00.750z", "2024-13-01T12:00:00.750Z", "2024-05-01T12:00:00.750Z", "1970-01-01T00:00:00+00:01",
            "2024-05-01T12:00:00.123456789123Z", "9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999999-01:00",
            // Each differs from the one before in one place of the first 19 bytes only.
            "2024-05-01T12:00:00.5Z", "2024-05-01T12:01:00.5Z", "2024-05-01T13:01:00.5Z", "2024-05-02T13:01:00.5Z",
            "2024-06-02T13:01:00.5Z", "2025-06-02T13:01:00.5Z", "2025-06-02T13:01:09.5Z", "2025-06-02T13:01:09.5Z",
        ]
        let records = TailTesting.records(texts.map { #"{"time":"\#($0)","msg":"m"}"# })
        #expect(records.count == texts.count)
        for (text, record) in zip(texts, records) {
            var copy = text
            let expected = copy.withUTF8 { TimestampText.unixNano(utf8: $0) }
            #expect(record.timeUnixNano == (expected ?? 0), "\(text)")
            #expect((record.attributes[LogLineParser.timeUnusable] != nil) == (expected == nil), "\(text)")
        }
        // Some of them were read: not all fell back to the observed time.
        #expect(records.filter { $0.timeUnixNano > 1_000_000_000 }.count >= 10)
        #expect(Set(records.suffix(8).map(\.timeUnixNano)).count == 7, "seven different times at the end")
    }

    @Test("times past what Unix nanoseconds hold are nil, never a trap: epoch s/ms/µs/ns and RFC 3339 up to year 9999")
    func timesOutOfRange() {
        let cases: [(AttributeValue, UInt64?)] = [
            (.int(20_000_000_000_000), nil),  // the line that crash-looped the agent: ms, year 2603
            (.int(99_999_999_999), nil),  // seconds, year 5138
            (.int(99_999_999_999_999), nil),
            (.int(99_999_999_999_999_999), nil),
            (.int(Int64.max), UInt64(Int64.max)),  // nanoseconds, 2262
            (.int(Int64.min), nil),
            (.double(1e300), nil),
            (.double(-1), nil),
            (.double(.infinity), nil),
            (.double(.nan), nil),
            (.string("99999999999999999999"), nil),
            (.string("18446744073709551615"), nil),
            (.string("9999-12-31T23:59:59.999999999Z"), nil),
            (.string("9999-01-01T00:00:00Z"), nil),
            (.string("2554-07-21T23:34:33Z"), 18_446_744_073_000_000_000),
            (.string("2554-07-21T23:34:34Z"), nil),
            (.string("2262-04-11T23:47:16Z"), 9_223_372_036_000_000_000),
            (.string("0000-01-01T00:00:00Z"), nil),
            (.string("1970-01-01T00:00:00+23:59"), nil),
        ]
        for (value, expected) in cases {
            #expect(TimestampText.unixNano(value) == expected, "\(value)")
        }
    }

    @Test("a record timed out of bounds or unreadably keeps its field, gets the read time and says so; JSON, logfmt and regex")
    func unusableTimes() {
        let now: UInt64 = 1_714_564_800_000_000_000
        let bounds = LogTimeBounds(maxAge: .seconds(7 * 86_400), maxFuture: .seconds(3_600))
        let lines: [(String, TailSource.Format, String?)] = [
            (#"{"level":"info","msg":"bomb","ts":20000000000000}"#, .json, nil),
            (#"{"msg":"far","time":"9999-01-01T00:00:00Z"}"#, .json, nil),
            (#"{"msg":"old","time":"2024-04-01T00:00:00Z"}"#, .json, nil),
            (#"{"msg":"ahead","ts":1714572000}"#, .json, nil),  // 2 h ahead
            ("ts=9999-01-01T00:00:00Z msg=logfmt", .logfmt, nil),
            ("99999999999999999999 regex", .plain, #"^(?<ts>\S+) (?<msg>.*)$"#),
        ]
        for (line, format, pattern) in lines {
            let record = TailTesting.records([line], format: format, pattern: pattern, observedUnixNano: now, timeBounds: bounds)[0]
            #expect(record.timeUnixNano == 0, "\(line)")
            #expect(record.observedTimeUnixNano == now)
            #expect(record.attributes["periscope.time_unusable"] == .bool(true), "\(line)")
            #expect(record.attributes["ts"] != nil || record.attributes["time"] != nil, "the original field is kept: \(line)")
        }
        let good = TailTesting.records([#"{"msg":"fine","ts":1714564790}"#], observedUnixNano: now, timeBounds: bounds)[0]
        #expect(good.timeUnixNano == now - 10_000_000_000)
        #expect(good.attributes["periscope.time_unusable"] == nil)
        // A second time field that is usable wins; the record is not marked.
        let second = TailTesting.records([#"{"msg":"two","ts":"garbage","time":1714564790}"#], observedUnixNano: now, timeBounds: bounds)[0]
        #expect(second.timeUnixNano == now - 10_000_000_000)
        #expect(second.attributes["periscope.time_unusable"] == nil)
    }

    @Test("levels: names, pino numbers, OTLP numbers")
    func levels() {
        let cases: [(String, Severity?, String)] = [
            (#""trace""#, .trace, "trace"), (#""DEBUG""#, .debug, "DEBUG"), (#""info""#, .info, "info"), (#""notice""#, Severity(rawValue: 10), "notice"),
            (#""Warning""#, .warn, "Warning"), (#""err""#, .error, "err"), (#""critical""#, Severity(rawValue: 19), "critical"),
            (#""fatal""#, .fatal, "fatal"), (#""panic""#, .fatal, "panic"), ("30", .info, "INFO"), ("60", .fatal, "FATAL"), ("17", .error, "ERROR"),
            (#""40""#, .warn, "40"), ("30.9", .info, "INFO"), (#""loud""#, nil, ""), ("99", nil, ""), (#""\u0130NFO""#, nil, ""),
        ]
        for (value, expected, text) in cases {
            let record = TailTesting.record(#"{"level":"# + value + "}")
            #expect(record.severityNumber == expected ?? .unspecified && record.severityText == text, "\(value)")
            #expect((record.attributes["level"] == nil) == (expected != nil), "a level that is no level stays an attribute")
        }
    }

    @Test("logfmt with quotes, escapes and bare keys")
    func logfmt() {
        let record = TailTesting.record(#"time=2024-05-01T12:00:00Z level=info msg="hello \"world\"" request_id=abc duration=12ms cached"#, format: .logfmt)
        #expect(record.timeUnixNano == 1_714_564_800_000_000_000)
        #expect(record.severityNumber == .info)
        #expect(record.body == .string(#"hello "world""#))
        #expect(record.attributes["correlation_id"] == .string("abc"))
        #expect(record.attributes["duration"] == .string("12ms"))
        #expect(record.attributes["cached"] == .bool(true))
        let bad = TailTesting.record(#"msg="unterminated"#, format: .logfmt)
        #expect(bad.attributes["periscope.parse_error"] == .bool(true))
        #expect(bad.body == .string(#"msg="unterminated"#))
    }

    @Test("plain text with a named-group regex; no match is a parse error kept whole; no regex is the line as body")
    func regex() {
        let pattern = #"^(?<time>\S+) \[(?<level>\w+)\] (?<msg>.*?)(?: rid=(?<request_id>\S+))?$"#
        let record = TailTesting.record("2024-05-01T12:00:00Z [WARN] disk almost full rid=r7", format: .plain, pattern: pattern)
        #expect(record.timeUnixNano == 1_714_564_800_000_000_000)
        #expect(record.severityNumber == .warn)
        #expect(record.body == .string("disk almost full"))
        #expect(record.attributes["correlation_id"] == .string("r7"))
        let miss = TailTesting.record("garbage", format: .plain, pattern: pattern)
        #expect(miss.attributes["periscope.parse_error"] == .bool(true))
        #expect(miss.body == .string("garbage"))
        let bare = TailTesting.record("just text", format: .plain)
        #expect(bare.body == .string("just text"))
        #expect(bare.attributes["periscope.parse_error"] == nil)
        #expect(RegexLineParser.groupNames(in: #"(?<a>x)(?<=y)(?<!z)\(?<no>(?<b>c)"#) == ["a", "b"])
    }

    @Test("hostile JSON never crashes: bad lines become parse errors with the line as body")
    func hostileJSON() {
        let lines = [
            "{", "{\"a\":}", "[1,2]", "\"str\"", "{\"a\":1}x", "{\"a\":\"\\ud800\"}", String(repeating: "{\"a\":", count: 5000),
            "{\"a\":1e999999}", "{\"a\":\"\u{0001}\"}", "{\"k\":\"v\" \"k2\":1}",
        ]
        for line in lines {
            let record = TailTesting.record(line)
            if line == "{\"a\":\"\\ud800\"}" {
                #expect(record.attributes["a"] == .string("\u{FFFD}"))
            } else {
                #expect(record.attributes["periscope.parse_error"] == .bool(true), "\(line.prefix(40))")
            }
        }
        #expect(TailTesting.record(#"{"u":"\u00e9\ud83d\ude00\n"}"#).attributes["u"] == .string("é😀\n"))
        #expect(TailTesting.records([""]).isEmpty, "a blank line is no record")
    }

    @Test("a line whose fields a receiver would refuse is kept whole, so its batch still decodes with the lines around it")
    func linesPastReceiverLimits() {
        #expect(TailBatchEncoder.maxFields == TailBatchEncoder.limits.maxAttributesPerItem - 8)
        #expect(TailBatchEncoder.maxValueBytes == TailBatchEncoder.limits.maxValueBytes)
        let wide = "{" + (0..<2_000).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + "}"
        let deep = #"{"a":"# + String(repeating: "[", count: 20) + String(repeating: "]", count: 20) + "}"
        let long = #"{"a":["# + (0..<2_000).map { "\($0)" }.joined(separator: ",") + "]}"
        let atLimit = "{" + (0..<TailBatchEncoder.maxFields).map { "\"k\($0)\":1" }.joined(separator: ",") + "}"
        // `records` decodes the batch with the collector's decoder, which refuses a batch with any record past its limits.
        let records = TailTesting.records([#"{"msg":"before"}"#, wide, deep, long, atLimit, #"{"msg":"after"}"#])
        #expect(records.count == 6)
        #expect(records.first?.body == .string("before") && records.last?.body == .string("after"))
        for index in 1...3 {
            #expect(records[index].attributes["periscope.parse_error"] == .bool(true), "record \(index)")
            #expect(records[index].attributes.count == 3, "record \(index): the whole line and the file attributes")
        }
        #expect(records[1].body == .string(wide) && records[2].body == .string(deep) && records[3].body == .string(long))
        #expect(records[4].attributes.count == TailBatchEncoder.maxFields + 2, "every field and the file attributes")
    }

    @Test("strings longer than a receiver takes in one value (a joined multiline record, a repaired line) are cut; a key that long keeps the record whole")
    func longStringsCut() {
        let limit = TailBatchEncoder.limits.maxValueBytes
        let long = String(repeating: "é", count: limit / 2 + 100)
        let records = TailTesting.records([#"{"msg":""# + long + #"","k":"# + #""x"}"#, #"{""# + long + #"":1}"#, #"{"msg":"after"}"#])
        #expect(records.count == 3)
        #expect(records[0].body == .string(String(repeating: "é", count: limit / 2)) && records[0].attributes["k"] == .string("x"))
        #expect(records[1].attributes["periscope.parse_error"] == .bool(true))
        if case .string(let body) = records[1].body { #expect(body.utf8.count <= limit && body.hasPrefix(#"{""#)) } else { Issue.record("no body") }
        #expect(records[2].body == .string("after"))
    }

    @Test("a nested object with a long key and many members is kept whole: its dotted keys would take hundreds of times the line")
    func dottedKeysBounded() {
        let key = String(repeating: "k", count: 100_000)
        let line = "{\"" + key + "\":{" + Array(repeating: "\"\":0", count: 1_000).joined(separator: ",") + "}}"
        let record = TailTesting.records([line, #"{"msg":"after"}"#])
        #expect(record.count == 2)
        #expect(record[0].attributes["periscope.parse_error"] == .bool(true) && record[0].body == .string(line))
        #expect(record[1].body == .string("after"))
        // Within the bound, dotted keys are as before.
        #expect(TailTesting.record(#"{"a":{"b":1,"c":{"d":2}}}"#).attributes["a.c.d"] == .int(2))
    }

    @Test("a redaction longer than what it replaced is cut to what a receiver takes in one value")
    func redactionWithinValueLimit() {
        let redactor = Redactor(rules: [RedactionRule(name: "x", pattern: "x", replacement: String(repeating: "R", count: 100))], includeDefaults: false)
        let line = #"{"msg":""# + String(repeating: "x", count: 20_000) + #""}"#
        let record = TailTesting.records([line], redactor: redactor)[0]
        #expect(record.body == .string(String(repeating: "R", count: TailBatchEncoder.limits.maxValueBytes)))
    }

    @Test("tail: entries decode from the old list of globs and from objects")
    func configurationForms() throws {
        let yaml = """
            tail:
              - /var/log/a/*.log
              - include: ["/var/log/b/*.log", "/var/log/c.log"]
                exclude: ["*.gz"]
                service: billing
                start_at: beginning
                format: plain
                pattern: '^(?<level>\\w+) (?<msg>.*)$'
                multiline: { start_pattern: '^\\S', timeout: 2s }
                max_line_bytes: 1KiB
            redact:
              - { name: ssn, pattern: '\\d{3}-\\d{2}-\\d{4}', replacement: '[SSN]' }
            redact_defaults: false
            """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("agent-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try AgentConfiguration.File.load(path)
        let sources = try (file.tail ?? []).map { try $0.resolve() }
        #expect(sources.count == 2)
        #expect(sources[0] == TailSource(include: ["/var/log/a/*.log"]))
        #expect(sources[0].startAt == .end && sources[0].format == .json && sources[0].maxLineBytes == 65536)
        #expect(sources[1].include == ["/var/log/b/*.log", "/var/log/c.log"])
        #expect(sources[1].exclude == ["*.gz"])
        #expect(sources[1].service == "billing")
        #expect(sources[1].startAt == .beginning)
        #expect(sources[1].format == .plain)
        #expect(sources[1].multiline == TailSource.Multiline(startPattern: #"^\S"#, timeout: .seconds(2)))
        #expect(sources[1].maxLineBytes == 1024)
        #expect(try file.redact?.map { try $0.resolve() } == [RedactionRule(name: "ssn", pattern: #"\d{3}-\d{2}-\d{4}"#, replacement: "[SSN]")])
        #expect(file.redactDefaults == false)
        #expect(throws: (any Error).self) { try TailSourceEntry(glob: "x").with(startAt: "middle").resolve() }
        #expect(throws: (any Error).self) { try TailSourceEntry(glob: "x").with(pattern: "(").resolve() }
    }
}

@Suite("Tail: flags")
struct TailFlagTests {
    @Test("--tail GLOB (repeatable) is a JSON source starting at the end; --watch-pid; defaults")
    func flags() throws {
        let command = try RunCommand.parse(["--tail", "/a/*.log", "--tail", "/b.log", "--watch-pid", "7"])
        let configuration = try command.resolve(environment: [:])
        #expect(configuration.tail.sources == [TailSource(include: ["/a/*.log"]), TailSource(include: ["/b.log"])])
        #expect(configuration.tail.sources.allSatisfy { $0.startAt == .end && $0.format == .json })
        #expect(configuration.watchPID == 7)
        #expect(configuration.redaction.includeDefaults)
        #expect(configuration.hostMetricsInterval == .seconds(10))
        #expect(configuration.tailCheckpointPath == "./periscope-agent-data/tail-checkpoints.json")
    }

    @Test("every agent.yaml key is also a flag, and a flag wins over the file")
    func everyKeyAFlag() throws {
        let scratch = try TailScratch()
        let yaml = scratch.file("agent.yaml")
        try scratch.append("agent.yaml", """
            queue: {segment_size: 8MiB}
            batch: {max_items: 100, max_bytes: 2MiB, max_delay: 1s}
            shipper: {drain_timeout: 9s}
            host_metrics_interval: 30s
            self_telemetry_interval: 30s
            max_body_bytes: 1000000
            redact: [{name: ssn, pattern: '\\d{3}-\\d{2}-\\d{4}'}]
            """)
        let command = try RunCommand.parse([
            "--config", yaml, "--segment-size", "4MiB", "--batch-max-items", "50", "--batch-max-bytes", "512KiB",
            "--batch-max-delay", "50ms", "--drain-timeout", "2s", "--host-metrics-interval", "off",
            "--self-telemetry-interval", "5s", "--max-body-bytes", "2MiB", "--max-decompressed-bytes", "8MiB",
            "--redact", "api-key=key-[0-9a-f]{8}", "--no-redact-defaults",
        ])
        let configuration = try command.resolve(environment: [:])
        #expect(configuration.queue.segmentBytes == 4 << 20)
        #expect(configuration.batching.maxItems == 50 && configuration.batching.maxBytes == 512 << 10)
        #expect(configuration.batching.maxDelay == .milliseconds(50))
        #expect(configuration.drainDeadline == .seconds(2))
        #expect(configuration.hostMetricsInterval == nil)
        #expect(configuration.selfTelemetryInterval == .seconds(5))
        #expect(configuration.bodyLimits == BodyLimits(maxBodyBytes: 2 << 20, maxDecompressedBytes: 8 << 20))
        #expect(configuration.redaction.rules.map(\.name) == ["ssn", "api-key"])
        #expect(!configuration.redaction.includeDefaults)
        let two = try RunCommand.parse(["--collector", "http://c1:4400/, http://c2:4400"]).resolve(environment: [:])
        #expect(two.collectorURLs == ["http://c1:4400", "http://c2:4400"])
        #expect(try RunCommand.parse([]).resolve(environment: ["PERISCOPE_COLLECTOR": "http://e:1"]).collectorURLs == ["http://e:1"])
        for bad in [["--redact", "no-equals-sign"], ["--redact", "x=("], ["--max-body-bytes", "lots"], ["--host-metrics-interval", "0s"],
                    ["--self-telemetry-interval", "1ns"], ["--host-metrics-interval", "99ms"],
                    ["--collector", "http://a:1,http://a:1/"], ["--collector", ","], ["--collector", "http://a:1,ftp://b"],
                    ["--collector", "http://127.0.0.1:99999"], ["--collector", "http://a:1,http://b:65536/"]] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try RunCommand.parse(bad).resolve(environment: [:]) }
        }
        // Sizes in the file take units, as the flags and the README say.
        try scratch.append("units.yaml", "max_body_bytes: 16MiB\nmax_decompressed_bytes: 1048576\nmax_inflight_bytes: 320MiB\n")
        let units = try RunCommand.parse(["--config", scratch.file("units.yaml")]).resolve(environment: [:])
        #expect(units.bodyLimits.maxBodyBytes == 16 << 20 && units.bodyLimits.maxDecompressedBytes == 1 << 20)
        #expect(units.bodyLimits.inFlightBytes == 320 << 20)
        // The file's numbers are held to the flags' rules.
        for (index, bad) in ["max_body_bytes: -1", "max_body_bytes: 1000", "max_decompressed_bytes: 0", "queue: {fsync: 0ms}", "queue: {fsync: 1ns}",
                             "batch: {max_delay: 100000d}", "batch: {max_bytes: 4MiB}",
                             "tail: [{include: [/tmp/x.log], max_line_bytes: 2MiB}]"].enumerated() {
            try scratch.append("bad-\(index).yaml", bad + "\n")
            #expect(throws: ConfigurationError.self, "\(bad)") {
                try RunCommand.parse(["--config", scratch.file("bad-\(index).yaml")]).resolve(environment: [:])
            }
        }
        // A key nothing reads is refused, by its path, with the keys its mapping takes.
        for (index, (bad, named)) in [
            ("queue: {max_sise: 1MiB}", "'queue.max_sise' (the keys there are "), ("shipper: {concurencY: 8}", "'shipper.concurencY'"),
            ("unknown_key: 5", "'unknown_key'"), ("tail: [/tmp/a.log, {include: [/tmp/b.log], bogus: 1}]", "'tail[1].bogus'"),
            ("tail: [{include: /tmp/c.log, multiline: {start_pattern: '^x', timeot: 1s}}]", "'tail[0].multiline.timeot'"),
            ("redact: [{name: a, pattern: b, replace: c}]", "'redact[0].replace'"),
        ].enumerated() {
            try scratch.append("unknown-\(index).yaml", bad + "\n")
            do {
                _ = try RunCommand.parse(["--config", scratch.file("unknown-\(index).yaml")]).resolve(environment: [:])
                Issue.record("\(bad) was accepted")
            } catch let error as ConfigurationError {
                #expect(error.description.contains("unknown key \(named)"), "\(error)")
            }
        }
        #expect(try RunCommand.parse(["--config", yaml]).resolve(environment: [:]).batching.maxItems == 100, "every key of a full file is known")
        // Keys starting with x- are the user's (anchors to merge, notes), as in Compose files.
        try scratch.append("extension.yaml", """
            x-defaults: &defaults {format: plain, start_at: beginning}
            tail: [{include: [/tmp/x.log], <<: *defaults, x-note: mine}]
            """)
        let merged = try RunCommand.parse(["--config", scratch.file("extension.yaml")]).resolve(environment: [:])
        #expect(merged.tail.sources.first?.format == .plain && merged.tail.sources.first?.startAt == .beginning)
    }
}

extension TailSourceEntry {
    func with(startAt: String? = nil, pattern: String? = nil) -> TailSourceEntry {
        var copy = self
        if let startAt { copy.startAt = startAt }
        if let pattern { copy.pattern = pattern }
        return copy
    }
}
