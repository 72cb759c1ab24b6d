import Foundation
@testable import PeriscopeCollector
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeQueryAPI
import PeriscopeTesting
import Testing

@Suite("Log blocks")
struct LogBlockTests {
    /// Records with every kind of body, times out of order and at the extremes, with and
    /// without trace and span IDs, flags, event names and correlation IDs.
    static let records: [LogRecord] = [
        LogRecord(
            timeUnixNano: 5_000, observedTimeUnixNano: 4_000, severityNumber: .error, severityText: "ERR",
            body: .string("payment failed"), attributes: [Attribute("correlation_id", .string("req-1")), Attribute("n", .int(1))],
            traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), flags: 1, eventName: "payment.failed"),
        LogRecord(timeUnixNano: 1_000, body: .empty),
        LogRecord(
            timeUnixNano: 0, observedTimeUnixNano: 7_000, severityNumber: Severity(rawValue: 24),
            body: .keyValueList([Attribute("user", .string("ana")), Attribute("items", .array([.int(-1), .double(2.5), .bool(true)]))]),
            attributes: [Attribute("request_id", .string("req-2"))], spanID: SpanID(.max)),
        LogRecord(timeUnixNano: .max, severityNumber: Severity(rawValue: -3), body: .bytes([0, 255, 7]), traceID: TraceID(high: .max, low: .max)),
        LogRecord(timeUnixNano: 2_000, body: .string(String(repeating: "é", count: 3000)), attributes: [Attribute("x-request-id", .string(""))]),
    ]

    static func encoded(_ records: [LogRecord] = records) -> [UInt8] {
        var encoder = LogBlockEncoder()
        _ = encoder.addResource(41)
        _ = encoder.addResource(-7)
        for (index, record) in records.enumerated() { encoder.add(LogBlockEntry(record, resource: index % 2, sequence: UInt64(index * 3 + 1))) }
        return encoder.encoded()
    }

    @Test("a block reads back every field of every record, in the order added")
    func roundTrip() throws {
        let block = try LogBlock(decoding: Self.encoded())
        #expect(block.resourceIDs == [41, -7])
        #expect(block.records.count == Self.records.count)
        for (index, record) in Self.records.enumerated() {
            let stored = block.records[index]
            #expect(stored.timeUnixNano == record.effectiveTimeUnixNano)
            #expect(stored.observedTimeUnixNano == record.observedTimeUnixNano)
            #expect(stored.severityNumber == record.severityNumber.rawValue)
            #expect(block.severityText(index) == record.severityText)
            #expect(block.body(index) == record.body)
            #expect(block.attributes(index) == record.attributes)
            #expect(stored.traceID == record.traceID)
            #expect(stored.spanID == record.spanID)
            #expect(stored.flags == record.flags)
            #expect(block.eventName(index) == record.eventName)
            #expect(block.correlationID(index) == (PartitionWriter.correlationID(record.attributes) ?? ""))
            #expect(stored.resource == index % 2)
            #expect(stored.sequence == UInt64(index * 3 + 1))
        }
        #expect(block.records[2].timeUnixNano == 7_000, "a record without a time is ordered by when it was observed")
        #expect(block.apiLog(0, service: "pay").severityText == "ERR")
        #expect(block.apiLog(1, service: "pay").severityText == Severity.unspecified.name)
    }

    @Test("a text search of the stored bytes finds what a search of the decoded body's text finds")
    func bodyContains() throws {
        let block = try LogBlock(decoding: Self.encoded())
        for needle in ["", "payment", "failed", "é", "éé", "ment f", "user=ana", "{", "[-1", "00ff07", "true", "x"] {
            for index in block.records.indices {
                let text = Array(block.body(index).text.utf8)
                let expected = needle.isEmpty || (0...max(0, text.count - needle.utf8.count)).contains { start in
                    text.count >= needle.utf8.count && Array(text[start..<(start + needle.utf8.count)]) == Array(needle.utf8)
                }
                #expect(block.bodyContains(index, needle) == expected, "record \(index), \(needle)")
            }
        }
        for (text, needle, found) in [("aaab", "aab", true), ("abc", "c", true), ("abc", "abc", true), ("abc", "abcd", false),
                                      ("", "a", false), ("", "", true), ("ab", "", true), ("xyxyz", "xyz", true), ("xyxy", "yxz", false)] {
            #expect(LogBlock.contains(Array(text.utf8)[...], needle) == found, "\(needle) in \(text)")
            #expect(LogBlock.contains(Array(("--" + text).utf8)[2...], needle) == found, "in a slice that does not start at 0")
        }
        #expect(LogBlock.storedString(ArraySlice(CompactEncoding.encode(value: .string("abc")))) == [97, 98, 99][...])
        #expect(LogBlock.storedString(ArraySlice(CompactEncoding.encode(value: .int(5)))) == nil)
        #expect(LogBlock.storedString([0x0A, 0x05, 0x61]) == nil, "a length past the end is not a string body")
        #expect(LogBlock.storedString([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]) == nil)
    }

    @Test("the encoder's time range and highest severity cover its records")
    func bounds() {
        var encoder = LogBlockEncoder()
        _ = encoder.addResource(1)
        for record in Self.records { encoder.add(LogBlockEntry(record, resource: 0, sequence: 1)) }
        #expect(encoder.minTime == 1_000)
        #expect(encoder.maxTime == .max)
        #expect(encoder.maxSeverity == 24)
        #expect(encoder.count == Self.records.count)
    }

    @Test("damaged and random bytes decode to an error or to a block every record of which reads")
    func damaged() {
        let block = Self.encoded()
        StoredBytesFuzzTests.writeSeed(block, target: "StoredLogBlockFuzz", name: "sample-block")
        var generator = SeededGenerator(seed: 23)
        var decoded = 0
        for round in 0..<StoredBytesFuzzTests.rounds {
            let input = round % 10 == 9
                ? (0..<Int(generator.next() % 512)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                : FuzzCorpus.damage(block, using: &generator)
            input.withUnsafeBytes { StoredBytesFuzzing.checkLogBlock($0) }
            if (try? LogBlock(decoding: input)) != nil { decoded += 1 }
        }
        #expect(decoded < StoredBytesFuzzTests.rounds, "the damage reached past the header")
        for cut in [0, 1, 2, block.count / 2, block.count - 1] {
            #expect(throws: DamagedStoredData.self) { try LogBlock(decoding: Array(block.prefix(cut))) }
        }
        #expect(throws: DamagedStoredData.self) { try LogBlock(decoding: block + [0]) }
        // More records than a block may hold, and more resources than records, are refused before anything is reserved.
        #expect(throws: DamagedStoredData.self) { try LogBlock(decoding: [LogBlockEncoder.formatVersion, 0x81, 0x10, 1, 1] + Array(block.dropFirst(5))) }
        #expect(throws: DamagedStoredData.self) { try LogBlock(decoding: [LogBlockEncoder.formatVersion, 1, 2, 1, 1]) }
    }

    @Test("the libFuzzer seeds replay without a trap")
    func replaySeeds() {
        let seeds = FuzzCorpus.seeds("StoredLogBlockFuzz")
        #expect(!seeds.isEmpty, "seeds found under Fuzz/Corpus/StoredLogBlockFuzz")
        for seed in seeds { seed.withUnsafeBytes { StoredBytesFuzzing.checkLogBlock($0) } }
    }

    @Test("records of equal time come back in arrival order across services' blocks and batches, both ways")
    func equalTimesInArrivalOrder() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("logties-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(directory: directory)
        let time: UInt64 = 1_780_000_000_000_000_000
        func record(_ text: String) -> LogRecord { LogRecord(timeUnixNano: time, body: .string(text)) }
        func group(_ service: String, _ texts: [String]) -> ResourceLogs {
            ResourceLogs(resource: Resource(serviceName: service), scopes: [ScopeLogs(records: texts.map(record))])
        }
        _ = try store.ingest(.logs([group("a", ["1"]), group("b", ["2"]), group("a", ["3"]), group("c", ["4", "5"])]), batchID: nil)
        _ = try store.ingest(.logs([group("b", ["6"]), group("a", ["7"])]), batchID: nil)
        let order = ["1", "2", "3", "4", "5", "6", "7"].map { AttributeValue.string($0) }
        #expect(try store.logs(LogQuery()).logs.map(\.body) == order)
        var newest = LogQuery(limit: 4)
        newest.newestFirst = true
        #expect(try store.logs(newest).logs.map(\.body) == Array(order.reversed().prefix(4)))
        #expect(try store.logs(LogQuery(limit: 3)).logs.map(\.body) == Array(order.prefix(3)))
    }

    @Test("a damaged block fails its query with what to do, and the next queries see new data")
    func damagedBlockReleasesSnapshot() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("logdamage-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(directory: directory)
        let time: UInt64 = 1_780_000_000_000_000_000
        func batch(_ service: String, _ text: String, at offset: UInt64 = 0) -> TelemetryBatch {
            .logs([ResourceLogs(resource: Resource(serviceName: service), scopes: [ScopeLogs(records: [LogRecord(timeUnixNano: time + offset, body: .string(text))])])])
        }
        _ = try store.ingest(batch("a", "first"), batchID: nil)
        _ = try store.ingest(batch("a", "second", at: 10), batchID: nil)
        let database = try SQLiteDatabase(path: directory + "/\(PartitionDay(unixNano: time)).db")
        try database.execute("UPDATE log_blocks SET data = x'28b52ffd00' WHERE id = 2")
        do {
            _ = try store.logs(LogQuery()).logs
            Issue.record("a damaged block was read as if whole")
        } catch let error as DamagedStoredData {
            #expect(error.description.contains("log block 2"))
            #expect(error.description.contains("backup"))
        }
        // Spans stored after the failed query are seen by a span query, which shares the reader
        // connection but none of the log query's statements.
        let traceID = TraceID(high: 3, low: 4)
        _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "b"), scopes: [ScopeSpans(spans: [
            Span(traceID: traceID, spanID: SpanID(1), name: "GET /", kind: .server, startTimeUnixNano: time, endTimeUnixNano: time + 1)])])]), batchID: nil)
        #expect(try store.trace(traceID)?.spans.count == 1)
        _ = try store.ingest(batch("b", "after"), batchID: nil)
        #expect(try store.logs(LogQuery(service: "b")).logs.map(\.body) == [.string("after")])
        #expect(try store.logs(LogQuery(limit: 1)).logs.map(\.body) == [.string("first")], "the records before the damaged block still read")
    }

    @Test("many services interleaved in one batch still get one full block each")
    func manyServicesInterleaved() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("logmany-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(directory: directory)
        let time: UInt64 = 1_780_000_000_000_000_000
        var groups = [ResourceLogs]()
        for round in 0..<3 {
            for service in 0..<300 {
                let record = LogRecord(timeUnixNano: time + UInt64(round), body: .string("s\(service) r\(round)"))
                groups.append(ResourceLogs(resource: Resource(serviceName: "s\(service)"), scopes: [ScopeLogs(records: [record])]))
            }
        }
        _ = try store.ingest(.logs(groups), batchID: nil)
        let database = try SQLiteDatabase(path: directory + "/\(PartitionDay(unixNano: time)).db")
        #expect(try database.integer("SELECT count(*) FROM log_blocks") == 300)
        #expect(try database.integer("SELECT min(records) FROM log_blocks") == 3)
        #expect(try store.logs(LogQuery(service: "s299")).logs.map(\.body) == (0..<3).map { .string("s299 r\($0)") })
        #expect(try store.counts()["logs"] == 900)
    }

    @Test("a block is cut at its byte size and the open blocks written past their budget, again and again, losing nothing")
    func byteLimits() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("logbytes-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try SQLiteDatabase(path: directory + "/day.db")
        try database.execute(Schema.statements)
        // The same limits as the defaults, scaled down: blocks of 4 KiB, 16 KiB open at most.
        var writer = LogBlockWriter(database: database, blockBytes: 4 << 10, bufferBytes: 16 << 10)
        let body = String(repeating: "x", count: 500)
        var sent = [String]()
        // 20 services, records arriving round-robin (each ~560 bytes): the buffer overflows
        // every few records; one service also sends a run long enough to fill blocks by size.
        for n in 0..<2000 {
            let service = n % 50 < 40 ? "run" : "s\(n % 20)"
            let text = "\(n) " + body
            sent.append(text)
            try writer.add(LogBlockEntry(LogRecord(timeUnixNano: 1_000 + UInt64(n), body: .string(text)), resource: 0, sequence: UInt64(n + 1)),
                           service: service, resourceID: 1)
        }
        try writer.finish()
        #expect(writer.records == 2000)
        #expect(try database.integer("SELECT sum(records) FROM log_blocks") == 2000)
        // No block past its size by more than one record; the long run's blocks are cut by size.
        var sizes = [Int]()
        let blocks = try database.statement("SELECT id, data, service FROM log_blocks ORDER BY id")
        var read = [(sequence: UInt64, text: String)]()
        while try blocks.step() {
            let block = try blocks.withBlob(1) { try LogBlockSearch.decode(blocks.int64(0), compressed: $0) }
            sizes.append(block.records.count)
            for index in block.records.indices { read.append((block.records[index].sequence, block.body(index).text)) }
        }
        #expect(sizes.max() == 8, "4 KiB of ~560-byte records")
        #expect(sizes.count > 2000 / 8 + 20, "blocks were also written early, when the open ones passed their budget")
        #expect(read.sorted { $0.sequence < $1.sequence }.map(\.text) == sent, "every record once, in arrival order")
    }

    @Test("a batch's records are one block per service, a new one past the block size, and all read back")
    func blocksPerService() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("logblocks-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(directory: directory)
        let base: UInt64 = 1_780_000_000_000_000_000
        let many = (0..<(LogBlockEncoder.maxRecords + 5)).map { LogRecord(timeUnixNano: base + UInt64($0), body: .string("a \($0)")) }
        let few = (0..<3).map { LogRecord(timeUnixNano: base + UInt64($0), body: .string("b \($0)")) }
        _ = try store.ingest(.logs([
            ResourceLogs(resource: Resource(serviceName: "a", hostName: "h1"), scopes: [ScopeLogs(records: Array(many[..<10]))]),
            ResourceLogs(resource: Resource(serviceName: "b"), scopes: [ScopeLogs(records: few)]),
            ResourceLogs(resource: Resource(serviceName: "a", hostName: "h2"), scopes: [ScopeLogs(records: Array(many[10...]))]),
        ]), batchID: nil)
        let database = try SQLiteDatabase(path: directory + "/\(PartitionDay(unixNano: base)).db")
        let blocks = try database.statement("SELECT service, records FROM log_blocks ORDER BY id")
        var rows = [String]()
        while try blocks.step() { rows.append("\(blocks.string(0)):\(blocks.int(1))") }
        #expect(rows == ["a:\(LogBlockEncoder.maxRecords)", "a:5", "b:3"])
        #expect(try store.logs(LogQuery(service: "a", limit: 10_000)).logs.map(\.body) == many.map(\.body))
        #expect(try store.logs(LogQuery(service: "b")).logs.map(\.body) == few.map(\.body))
        #expect(try store.counts()["logs"] == many.count + few.count)
    }
}

@Suite("Schema upgrade")
struct SchemaUpgradeTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("upgrade-\(UUID().uuidString)").path

    /// The log tables as schema 7 wrote them: a row per record, two indexes, a key row per (record, key).
    static let schema7Logs = """
        CREATE TABLE logs (
            id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, observed_ns INTEGER NOT NULL, service TEXT NOT NULL,
            severity_number INTEGER NOT NULL, severity_text TEXT NOT NULL, body BLOB NOT NULL, body_text TEXT NOT NULL,
            attributes BLOB NOT NULL, trace_id BLOB, span_id INTEGER, correlation_id TEXT, resource_id INTEGER NOT NULL);
        CREATE TABLE log_keys (bucket INTEGER NOT NULL, key INTEGER NOT NULL, log INTEGER NOT NULL, PRIMARY KEY (bucket, key, log)) WITHOUT ROWID;
        CREATE INDEX logs_by_service_time ON logs (service, time_ns);
        CREATE INDEX logs_by_time ON logs (time_ns);
        """

    /// Writes a schema 7 partition file: the spans through today's store (their tables did not
    /// change), then the log tables of schema 7 in place of the log blocks, with `logs` as rows.
    func writeSchema7(day path: String, spans: TelemetryBatch, logs: [(service: String, record: LogRecord)]) throws {
        do {
            let store = try SQLiteStore(directory: directory)
            _ = try store.ingest(spans, batchID: "spans-1")
        }
        let database = try SQLiteDatabase(path: path)
        try database.execute("DROP TABLE log_blocks; DROP TABLE log_block_keys;" + Self.schema7Logs)
        let resource = try ResourceRows.id(of: Resource(serviceName: "pay", hostName: "h1"), in: database)
        for (service, record) in logs {
            let correlation = PartitionWriter.correlationID(record.attributes)
            let insert = try database.statement("""
                INSERT INTO logs (time_ns, observed_ns, service, severity_number, severity_text, body, body_text, attributes,
                    trace_id, span_id, correlation_id, resource_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
                .bind(1, record.effectiveTimeUnixNano).bind(2, record.observedTimeUnixNano).bind(3, service)
                .bind(4, record.severityNumber.rawValue).bind(5, record.severityText)
                .bind(6, blob: CompactEncoding.encode(value: record.body)).bind(7, record.body.text)
                .bind(8, blob: CompactEncoding.encode(attributes: record.attributes)).bind(9, blob: record.traceID?.bytes).bind(12, resource)
            if let spanID = record.spanID { insert.bind(10, spanID.value) } else { insert.bindNull(10) }
            if let correlation { insert.bind(11, correlation) } else { insert.bindNull(11) }
            try insert.run()
        }
        try database.execute("UPDATE counters SET value = \(logs.count) WHERE name = 'logs'; PRAGMA user_version=7;")
    }

    @Test("a schema 7 file is upgraded when opened: its log rows become blocks that answer every query as the rows did")
    func fromSchema7() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let base: UInt64 = 1_780_000_000_000_000_000
        let day = PartitionDay(unixNano: base)
        let path = directory + "/\(day).db"
        let traceID = TraceID(high: 9, low: 9)
        let spans = TelemetryBatch.traces([ResourceSpans(
            resource: Resource(serviceName: "pay"),
            scopes: [ScopeSpans(spans: [Span(traceID: traceID, spanID: SpanID(1), name: "GET /", kind: .server, startTimeUnixNano: base, endTimeUnixNano: base + 5)])])])
        var logs = [(service: String, record: LogRecord)]()
        for n in 0..<(LogBlockEncoder.maxRecords * 2 + 300) {
            // Times out of order and tied, two services interleaved, every fifth record in the trace.
            let record = LogRecord(
                timeUnixNano: base + UInt64((n * 7919) % 1000), observedTimeUnixNano: base + 2_000,
                severityNumber: Severity(rawValue: n % 3 == 0 ? 17 : 9), severityText: n % 3 == 0 ? "ERROR" : "",
                body: n % 50 == 0 ? .keyValueList([Attribute("n", .int(Int64(n)))]) : .string("line \(n)"),
                attributes: [Attribute("n", .int(Int64(n))), Attribute("correlation_id", .string("req-\(n % 11)"))],
                traceID: n % 5 == 0 ? traceID : nil, spanID: n % 5 == 0 ? SpanID(1) : nil)
            logs.append((n % 2 == 0 ? "pay" : "cart", record))
        }
        try writeSchema7(day: path, spans: spans, logs: logs)

        func n(_ log: QueryAPI.Log) -> Int64 { if case .int(let value)? = log.attributes["n"] { return value }; return -1 }
        func expected(_ predicate: ((service: String, record: LogRecord)) -> Bool, newestFirst: Bool = false, limit: Int = 100_000) -> [Int64] {
            let sorted = logs.enumerated().filter { predicate($0.element) }
                .sorted { ($0.element.record.timeUnixNano, $0.offset) < ($1.element.record.timeUnixNano, $1.offset) }
                .map { Int64($0.offset) }
            return Array((newestFirst ? sorted.reversed() : sorted).prefix(limit))
        }

        for _ in 0..<2 {  // the upgrade, then an ordinary reopen
            let store = try SQLiteStore(directory: directory)
            #expect(try store.counts()["logs"] == logs.count)
            #expect(try store.counts()["spans"] == 1)
            #expect(try store.trace(traceID)?.spans.count == 1)
            // Among equal times the order is the rows' order (their arrival), across services' blocks.
            #expect(try store.logs(LogQuery(limit: 100_000)).logs.map(n) == expected { _ in true })
            #expect(try store.logs(LogQuery(service: "pay", limit: 100_000)).logs.map(n) == expected { $0.service == "pay" })
            var newest = LogQuery(service: "cart", limit: 25)
            newest.newestFirst = true
            #expect(try store.logs(newest).logs.map(n) == expected({ $0.service == "cart" }, newestFirst: true, limit: 25))
            #expect(try store.logs(LogQuery(traceID: traceID, limit: 100_000)).logs.map(n) == expected { $0.record.traceID == traceID })
            #expect(try store.logs(LogQuery(correlationID: "req-3", limit: 100_000)).logs.map(n) == expected {
                PartitionWriter.correlationID($0.record.attributes) == "req-3"
            })
            let errors = try store.logs(LogQuery(service: "pay", minSeverity: 17, contains: "line 1", limit: 100_000)).logs
            #expect(errors.map(n) == expected { $0.service == "pay" && $0.record.severityNumber.rawValue >= 17 && $0.record.body.text.contains("line 1") })
            #expect(errors.allSatisfy { $0.severityText == "ERROR" && $0.observedTimeUnixNano == base + 2_000 })
            let structured = try store.logs(LogQuery(service: "pay", limit: 100_000)).logs.first { n($0) == 0 }
            #expect(structured?.body == .keyValueList([Attribute("n", .int(0))]))
        }
        let database = try SQLiteDatabase(path: path)
        #expect(try database.integer("PRAGMA user_version") == Int(Schema.version))
        #expect(try database.integer("PRAGMA freelist_count") == 0, "the upgrade gave back the old rows' pages")
        #expect(try database.integer("SELECT count(*) FROM sqlite_master WHERE name IN ('logs', 'log_keys', 'logs_by_time')") == 0)
        #expect(try database.integer("SELECT sum(records) FROM log_blocks") == logs.count)
        #expect(try database.integer("SELECT count(*) FROM log_blocks") == 4, "each service's records in blocks of at most \(LogBlockEncoder.maxRecords)")
        // The batch IDs the file recorded before the upgrade still keep a batch from being stored
        // twice, and records stored after it come after the moved ones among equal times.
        let again = try SQLiteStore(directory: directory)
        #expect(try again.ingest(spans, batchID: "spans-1") == .duplicate)
        let late = LogRecord(timeUnixNano: base, body: .string("late"), attributes: [Attribute("n", .int(-7))])
        _ = try again.ingest(.logs([ResourceLogs(resource: Resource(serviceName: "cart"), scopes: [ScopeLogs(records: [late])])]), batchID: nil)
        #expect(try again.logs(LogQuery(endUnixNano: base, limit: 100_000)).logs.map(n) == expected { $0.record.timeUnixNano == base } + [-7])
    }

    @Test("a schema 7 file without the log tables (a first start cut short) is upgraded too")
    func schema7WithoutLogTables() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let time: UInt64 = 1_780_000_000_000_000_000
        let path = directory + "/\(PartitionDay(unixNano: time)).db"
        do {
            let store = try SQLiteStore(directory: directory)
            _ = try store.ingest(.logs([ResourceLogs(resource: Resource(serviceName: "a"), scopes: [ScopeLogs(records: [LogRecord(timeUnixNano: time, body: .string("x"))])])]), batchID: nil)
        }
        do {
            let database = try SQLiteDatabase(path: path)
            try database.execute("DROP TABLE log_blocks; DROP TABLE log_block_keys; UPDATE counters SET value = 0 WHERE name = 'logs'; PRAGMA user_version=7;")
        }
        let store = try SQLiteStore(directory: directory)
        _ = try store.ingest(.logs([ResourceLogs(resource: Resource(serviceName: "a"), scopes: [ScopeLogs(records: [LogRecord(timeUnixNano: time, body: .string("y"))])])]), batchID: nil)
        #expect(try store.logs(LogQuery()).logs.map(\.body) == [.string("y")])
        #expect(try SQLiteDatabase(path: path).integer("PRAGMA user_version") == Int(Schema.version))
    }

    @Test("a file older than schema 7 is still refused, and left as it was")
    func olderRefused() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/2025-01-01.db"
        do {
            let old = try SQLiteDatabase(path: path)
            try old.execute("CREATE TABLE logs (id INTEGER PRIMARY KEY); PRAGMA user_version=6;")
        }
        #expect(throws: PartitionSchemaMismatch.self) { _ = try SQLiteStore(directory: directory) }
        let database = try SQLiteDatabase(path: path)
        #expect(try database.integer("PRAGMA user_version") == 6)
        #expect(try database.integer("SELECT count(*) FROM sqlite_master WHERE name = 'log_blocks'") == 0)
    }

    @Test("day files past retention are dropped at start, before any upgrade or refusal; the boundary day, newer ones, renamed copies, other files and newer schemas stay")
    func expiredDaysDroppedBeforeUpgrade() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let day = PartitionDay.nanosPerDay
        let old: UInt64 = 1_780_000_000_000_000_000
        let recent = old + 10 * day
        let boundary = PartitionDay(unixNano: recent - day)
        let spans = TelemetryBatch.traces([ResourceSpans(resource: Resource(serviceName: "pay"), scopes: [ScopeSpans(spans: [
            Span(traceID: TraceID(high: 1, low: 1), spanID: SpanID(1), name: "GET /", startTimeUnixNano: old, endTimeUnixNano: old + 5),
        ])])])
        let logs = (0..<10).map { ("pay", LogRecord(timeUnixNano: old + UInt64($0), body: .string("old \($0)"))) }
        do {
            let store = try SQLiteStore(directory: directory)
            for (time, text) in [(recent, "recent"), (boundary.startUnixNano, "boundary")] {
                _ = try store.ingest(.logs([ResourceLogs(resource: Resource(serviceName: "pay"), scopes: [ScopeLogs(records: [
                    LogRecord(timeUnixNano: time, body: .string(text)),
                ])])]), batchID: nil)
            }
        }
        let schema7 = directory + "/\(PartitionDay(unixNano: old)).db"
        try writeSchema7(day: schema7, spans: spans, logs: logs)
        let ancient = directory + "/\(PartitionDay(unixNano: old - day)).db"
        do {
            let database = try SQLiteDatabase(path: ancient)
            try database.execute("CREATE TABLE logs (id INTEGER PRIMARY KEY); PRAGMA user_version=6;")
        }
        // Files that only look like expired days, or are not ours to delete.
        let renamed = directory + "/\(PartitionDay(unixNano: old - 2 * day))-old.db"
        try FileManager.default.copyItem(atPath: schema7, toPath: renamed)
        let unpadded = directory + "/2026-1-5.db"
        try FileManager.default.copyItem(atPath: schema7, toPath: unpadded)
        let notSQLite = directory + "/\(PartitionDay(unixNano: old - 3 * day)).db"
        try Data("a backup of something else".utf8).write(to: URL(fileURLWithPath: notSQLite))
        #expect(try SQLiteDatabase(path: schema7).integer("PRAGMA user_version") == 7)

        // The cutoff is the boundary day's last nanosecond: that day is not all older, so it stays.
        // The file that is not SQLite is opened, found to be no database, and moved aside: kept, never deleted.
        let first = try SQLiteStore(directory: directory, expiredBefore: boundary.endUnixNano)
        let moved = first.damagedFilesMovedAside
        #expect(moved.count == 1 && moved[0].hasPrefix(notSQLite + ".damaged-"), "\(moved)")
        for path in [schema7, ancient, notSQLite] { #expect(!FileManager.default.fileExists(atPath: path), "\(path) dropped or moved, unopened") }
        for path in [renamed, unpadded] + moved { #expect(FileManager.default.fileExists(atPath: path), "\(path) kept") }
        let store = try SQLiteStore(directory: directory, expiredBefore: boundary.endUnixNano)
        #expect(store.days == [boundary, PartitionDay(unixNano: recent)])
        #expect(try store.logs(LogQuery()).logs.map(\.body) == [.string("boundary"), .string("recent")])
        #expect(FileManager.default.fileExists(atPath: directory + "/alerts.db"))

        // A nanosecond later the boundary day is all older: dropped. A newer Periscope's day file is refused, not deleted.
        let newer = directory + "/\(PartitionDay(unixNano: old - 4 * day)).db"
        do {
            let database = try SQLiteDatabase(path: newer)
            try database.execute("CREATE TABLE later (id INTEGER PRIMARY KEY); PRAGMA user_version=\(Schema.version + 1);")
        }
        #expect(throws: PartitionSchemaMismatch.self) { _ = try SQLiteStore(directory: directory, expiredBefore: boundary.endUnixNano + 1) }
        #expect(FileManager.default.fileExists(atPath: newer))
        try FileManager.default.removeItem(atPath: newer)
        let later = try SQLiteStore(directory: directory, expiredBefore: boundary.endUnixNano + 1)
        #expect(later.days == [PartitionDay(unixNano: recent)])
        #expect(!FileManager.default.fileExists(atPath: directory + "/\(boundary).db"))
    }

    @Test("a day file's name is exactly YYYY-MM-DD: look-alikes are not partitions")
    func strictDayNames() {
        #expect(PartitionDay(name: "2026-05-27")?.description == "2026-05-27")
        for name in ["2026-05-27-old", "old-2026-05-27", "2026-5-27", "2026--05-27", "+2026-05-27", "2026-02-31", "alerts", "1969-12-31"] {
            #expect(PartitionDay(name: name) == nil, "\(name)")
        }
    }
}
