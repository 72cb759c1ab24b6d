import Foundation
import NIOCore
import Synchronization
@testable import PeriscopeCollector
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeTesting
import Testing

/// What only the PostgreSQL store has: several collectors on one database, its schema
/// version, its URL, text columns that cannot hold NUL.
@Suite("PostgreSQL store")
struct PostgresStoreTests {
    static func logs(_ batch: Int, count: Int = 10) -> TelemetryBatch {
        let records = (0..<count).map { i in
            LogRecord(timeUnixNano: 1_000_000_000 + UInt64(batch * 100 + i), body: .string("batch \(batch) record \(i)"))
        }
        return .logs([ResourceLogs(resource: Resource(serviceName: "api"), scopes: [ScopeLogs(records: records)])])
    }

    @Test("two stores on one database, each sending every batch at once from its own threads: each batch stored once")
    func exactlyOnceAcrossStores() throws {
        let url = try PostgresServer.shared().createDatabase()
        let stores = try (0..<2).map { _ in try PostgresStore(location: PostgresLocation(url: url), connections: 4) }
        let outcomes = Mutex<[IngestOutcome]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            let store = stores[worker % 2]
            for batch in 0..<40 {
                do {
                    let outcome = try store.ingest(Self.logs(batch), batchID: "b\(batch)")
                    outcomes.withLock { $0.append(outcome) }
                } catch {
                    Issue.record("ingest failed: \(error)")
                }
            }
        }
        let all = outcomes.withLock { $0 }
        #expect(all.filter { $0 == .stored(items: 10) }.count == 40)
        #expect(all.filter { $0 == .duplicate }.count == 8 * 40 - 40)
        #expect(try stores[0].counts()["logs"] == 400)
        #expect(try stores[1].counts()["ingested_batches"] == 40)
        try stores[1].flushRollups()
        #expect(try stores[0].counts()["logs"] == 400, "compaction moves counts, never doubles them")
        #expect(try stores[0].logs(LogQuery(limit: 10_000)).logs.count == 400)
    }

    @Test("a database of another schema version is refused with what to do")
    func schemaMismatch() throws {
        let server = try PostgresServer.shared()
        let url = try server.createDatabase()
        _ = try PostgresStore(location: PostgresLocation(url: url), connections: 1)
        try server.psql(String(url.split(separator: "/").last!), "UPDATE periscope.schema_version SET version = 99")
        #expect {
            _ = try PostgresStore(location: PostgresLocation(url: url), connections: 1)
        } throws: { error in
            let text = "\(error)"
            return text.contains("schema 99") && text.contains("newer Periscope") && text.contains("another database")
        }
    }

    @Test("a store that cannot be reached, or refuses TLS, is named with the reason in words")
    func unreachableInWords() throws {
        let closedPort = FreePort.closed()
        defer { closedPort.release() }
        let closed = "postgres://periscope@127.0.0.1:\(closedPort.port)/nothing"
        #expect {
            _ = try PostgresStore(location: PostgresLocation(url: closed), connections: 1)
        } throws: { error in
            let text = "\(error)"
            return text.contains("cannot connect to the PostgreSQL store") && text.contains("Connection refused") && !text.contains("connectionError")
        }
        let server = try PostgresServer.shared()
        #expect {
            _ = try PostgresStore(location: PostgresLocation(url: server.url(database: "postgres") + "?sslmode=require"), connections: 1)
        } throws: { error in
            let text = "\(error)"
            return text.contains("does not accept TLS") && text.contains("sslmode=disable") && !text.contains("sslUnsupported")
        }
    }

    @Test("dropped by hand: a table or added column is made again, a sequence or creation-only column stops the start with their names, a day partition is made again")
    func damagedTables() throws {
        let server = try PostgresServer.shared()
        let url = try server.createDatabase()
        let database = String(url.split(separator: "/").last!)
        let first = try PostgresStore(location: PostgresLocation(url: url), connections: 1)
        _ = try first.ingest(Self.logs(1), batchID: "one")
        let day = PartitionDay(unixNano: 1_000_000_000)
        try server.psql(database, "DROP TABLE periscope.logs_d\(day.index)")
        let second = try PostgresStore(location: PostgresLocation(url: url), connections: 1)
        _ = try second.ingest(Self.logs(2), batchID: "two")
        #expect(Set(try second.logs(LogQuery(limit: 100)).logs.map(\.body)) == Set((0..<10).map { .string("batch 2 record \($0)") }), "the day is written again")

        // What the schema's statements make is made again, empty.
        try server.psql(database, "ALTER TABLE periscope.logs DROP COLUMN correlation_key")
        try server.psql(database, "DROP TABLE periscope.operations")
        let third = try PostgresStore(location: PostgresLocation(url: url), connections: 1)
        _ = try third.ingest(Self.logs(3), batchID: "three")
        #expect(try third.logs(LogQuery(limit: 100)).logs.count == 20)

        // A column only the table's creation makes, or a sequence, is not: the start is refused, naming them.
        try server.psql(database, "ALTER TABLE periscope.logs DROP COLUMN severity_text")
        try server.psql(database, "DROP SEQUENCE periscope.log_ids CASCADE")
        #expect {
            _ = try PostgresStore(location: PostgresLocation(url: url), connections: 1)
        } throws: { error in
            let text = "\(error)"
            return text.contains("column periscope.logs.severity_text") && text.contains("sequence periscope.log_ids")
                && text.contains("DROP SCHEMA periscope CASCADE")
        }
        try server.psql(database, "CREATE SEQUENCE periscope.log_ids START 1000000")
        #expect {
            _ = try PostgresStore(location: PostgresLocation(url: url), connections: 1)
        } throws: { error in
            "\(error)".contains("column periscope.logs.severity_text") && !"\(error)".contains("sequence")
        }
    }

    @Test("the columns read from the schema's statements are the tables' columns")
    func expectedColumns() {
        #expect(PostgresSchema.columns["days"] == ["day", "analyzed_rows"])
        #expect(PostgresSchema.columns["span_blocks"] == ["day", "id", "min_start", "max_start", "spans", "terms", "data"])
        #expect(PostgresSchema.columns["logs"]?.contains("correlation_key") == true)
        #expect(PostgresSchema.columns["collectors"] == ["id", "retention_ns", "seen_ns"])
        #expect(Set(PostgresSchema.columns.keys) == [
            "schema_version", "days", "ingested_batches", "span_blocks", "trace_segments", "logs", "metric_points", "operations",
            "log_services", "batch_deltas", "counts", "request_rollups", "slo_rollups", "alert_events", "slo_evaluations",
            "counter_baselines", "collectors", "rollup_names",
        ])
        #expect(PostgresSchema.sequences == ["span_block_ids", "log_ids", "metric_point_ids"])
    }

    @Test("a database that does not store text as UTF-8 is refused with what to do")
    func encodingRefused() throws {
        let server = try PostgresServer.shared()
        let name = "latin1_\(UUID().uuidString.prefix(8).lowercased())"
        try server.psql("postgres", "CREATE DATABASE \(name) ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'")
        #expect {
            _ = try PostgresStore(location: PostgresLocation(url: server.url(database: name)), connections: 1)
        } throws: { error in
            "\(error)".contains("LATIN1") && "\(error)".contains("ENCODING 'UTF8'")
        }
    }

    @Test("text with NUL is stored (text columns get U+FFFD; the exact bytes stay in the blocks and bodies)")
    func nulText() throws {
        let store = try PostgresStore(location: PostgresLocation(url: try PostgresServer.shared().createDatabase()), connections: 1)
        let span = Span(traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), name: "GET /\u{0}x", kind: .server,
                        startTimeUnixNano: 1_000_000_000, endTimeUnixNano: 2_000_000_000)
        _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "a\u{0}b"), scopes: [ScopeSpans(spans: [span])])]), batchID: "nul\u{0}id")
        let record = LogRecord(timeUnixNano: 1_000_000_000, body: .string("x\u{0}y"), attributes: [Attribute("correlation_id", .string("c\u{0}"))])
        _ = try store.ingest(.logs([ResourceLogs(resource: Resource(serviceName: "a\u{0}b"), scopes: [ScopeLogs(records: [record])])]), batchID: nil)
        #expect(try store.trace(TraceID(high: 1, low: 2))?.spans.first?.name == "GET /\u{0}x")
        #expect(try store.logs(LogQuery()).logs.first?.body == .string("x\u{0}y"))
        #expect(try store.services().map(\.name) == ["a\u{FFFD}b"])
    }

    @Test("store URLs: what is accepted, and errors that say what to write", arguments: [
        ("postgres://u@h/db", "postgres://u@h:5432/db"),
        ("postgresql://u:p%40ss@h:6000/d?sslmode=require", "postgres://u@h:6000/d"),
        ("postgres://h/db", "names no user"),
        ("postgres://u@h", "names no database"),
        ("postgres://u@h:70000/db", "port 70000 is out of range"),
        ("postgres://u@h/db?sslmode=prefer", "sslmode=prefer is not supported"),
        ("postgres://u@h/db?pool=3", "unknown URL parameter pool"),
        ("mysql://u@h/db", "is not a PostgreSQL URL"),
        ("postgres://u@[::1]:6000/d", "postgres://u@[::1]:6000/d"),
    ])
    func urls(text: String, expected: String) {
        do {
            let location = try PostgresLocation(url: text)
            #expect(location.description == expected)
            if text.contains("p%40ss") { #expect(location.password == "p@ss" && location.requiresTLS) }
            if text.contains("[::1]") { #expect(location.host == "::1", "the address inside the brackets") }
        } catch {
            #expect(error.description.contains(expected), "\(error)")
            #expect(!error.description.contains("p%40ss"))
        }
    }

    @Test("names longer than an index entry holds are stored, cut for the indexes, and found by the same long name")
    func longNames() throws {
        let store = try PostgresStore(location: PostgresLocation(url: try PostgresServer.shared().createDatabase()), connections: 2)
        let long = String(repeating: "SELECT * FROM t WHERE id = '\(UUID().uuidString)'; ", count: 100)
        let span = Span(traceID: TraceID(high: 7, low: 7), spanID: SpanID(1), name: long, kind: .server,
                        startTimeUnixNano: 1_000_000_000, endTimeUnixNano: 2_000_000_000)
        #expect(try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: long), scopes: [ScopeSpans(spans: [span])])]), batchID: "long") == .stored(items: 1))
        let record = LogRecord(timeUnixNano: 1_000_000_000, body: .string("b"), attributes: [Attribute("correlation_id", .string(long))])
        #expect(try store.ingest(.logs([ResourceLogs(resource: Resource(serviceName: long), scopes: [ScopeLogs(records: [record])])]), batchID: nil) == .stored(items: 1))
        #expect(try store.trace(TraceID(high: 7, low: 7))?.spans.first?.name == long, "the span keeps its whole name")
        #expect(try store.logs(LogQuery(correlationID: long)).logs.count == 1)
        #expect(try store.logs(LogQuery(service: long)).logs.count == 1)
        #expect(try store.services().first?.name.utf8.count ?? 0 <= PostgresText.maxKeyBytes)
    }

    @Test("a service name with NUL is numbered once in the rollups, however often they are compacted")
    func nulNamesNumberedOnce() throws {
        let store = try PostgresStore(location: PostgresLocation(url: try PostgresServer.shared().createDatabase()), connections: 2)
        for round in 0..<4 {
            let span = Span(traceID: TraceID(high: 9, low: UInt64(round + 1)), spanID: SpanID(1), name: "GET /", kind: .server,
                            startTimeUnixNano: 1_000_000_000, endTimeUnixNano: 2_000_000_000)
            _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "a\u{0}b"), scopes: [ScopeSpans(spans: [span])])]), batchID: "r\(round)")
            try store.flushRollups()
        }
        let names = try store.sessions.withSession { session in
            try RollupNames.read(day: PartitionDay(unixNano: 1_000_000_000), in: session)
        }
        #expect(names.names == ["", "GET /", "a\u{FFFD}b"] || names.names == ["", "a\u{FFFD}b", "GET /"], "\(names.names)")
    }

    @Test("days created and dropped while another store ingests spans: every batch stored, none refused")
    func partitionsWhileIngesting() throws {
        let url = try PostgresServer.shared().createDatabase()
        let writer = try PostgresStore(location: PostgresLocation(url: url), connections: 2)
        let other = try PostgresStore(location: PostgresLocation(url: url), connections: 2)
        let day = PartitionDay.nanosPerDay
        let base = 20_000 * day
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for n in 0..<30 {
                do {
                    if worker == 0 {
                        let spans = (0..<20).map { i in
                            Span(traceID: TraceID(high: 1, low: UInt64(n % 5 + 1)), spanID: SpanID(UInt64(n * 100 + i + 1)), name: "op", kind: .server,
                                 startTimeUnixNano: base + 100 * day + UInt64(n) * 1_000, endTimeUnixNano: base + 100 * day + UInt64(n) * 1_000 + 10)
                        }
                        _ = try writer.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "s"), scopes: [ScopeSpans(spans: spans)])]), batchID: "w\(n)")
                    } else {
                        // A new day every time (creating partitions), and the older ones dropped.
                        let time = base + UInt64(10 + n) * day
                        _ = try other.ingest(.logs([ResourceLogs(resource: Resource(serviceName: "s"), scopes: [ScopeLogs(records: [LogRecord(timeUnixNano: time, body: .string("x"))])])]), batchID: "o\(n)")
                        if n % 5 == 4 { other.dropData(olderThan: base + UInt64(10 + n - 2) * day) }
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        #expect(try writer.counts()["spans"] == 600)
        #expect(try writer.trace(TraceID(high: 1, low: 1))?.spans.count == 120)
    }

    @Test("collectors on one database take turns evaluating SLOs, and each alert change is recorded once")
    func sharedSLOEvaluation() throws {
        let url = try PostgresServer.shared().createDatabase()
        let slo = SLOTests.ratio("shared", objective: 99)
        let stores = try (0..<2).map { _ in try PostgresStore(location: PostgresLocation(url: url), objectives: [slo], connections: 2) }
        _ = try stores[0].ingest(SLOTests.counters([(k: 0, total: 10, good: 0)]), batchID: "bad")
        let services = stores.map { SLOEvaluationService(store: $0, interval: .seconds(60), logger: .init(label: "test")) }
        services[0].evaluate(nowUnixNano: SLOTests.now)
        services[1].evaluate(nowUnixNano: SLOTests.now)  // not its turn: the other evaluated within the interval
        #expect(try stores[1].alerts.events(slo: "shared").map { "\($0.severity) \($0.firing)" } == ["page true", "ticket true"])
        #expect(try !stores[0].alerts.claimEvaluation(of: [slo], minimumGap: .seconds(60)), "one evaluation per interval in all")
        #expect(try stores[0].alerts.claimEvaluation(of: [slo, SLOTests.ratio("other", objective: 90)], minimumGap: .seconds(60)),
                "another set of SLOs (another SLO file) has turns of its own")
        try stores[0].alerts.releaseEvaluation(of: [slo])
        #expect(try stores[1].alerts.claimEvaluation(of: [slo], minimumGap: .seconds(60)), "a turn given back is taken at once")
        #expect(try stores[0].alerts.claimEvaluation(of: [slo], minimumGap: .zero), "a turn comes once the gap has passed")
        // Both evaluating at once anyway (one recorded before the other's claim lapsed): still one change each.
        let quiet = SLOTests.now + 4 * 86_400 * 1_000_000_000
        let statuses = try stores[0].statuses(of: [slo], nowUnixNano: quiet)
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            do { try stores[worker % 2].alerts.record(statuses, atUnixNano: quiet) } catch { Issue.record("record failed: \(error)") }
        }
        #expect(try stores[0].alerts.events(slo: "shared").map { "\($0.severity) \($0.firing)" } == ["page true", "ticket true", "page false", "ticket false"])
    }

    @Test("a cumulative counter whose points reach different collectors, late and out of order, counts each increase once")
    func sharedCounterBaselines() throws {
        let url = try PostgresServer.shared().createDatabase()
        let slo = SLOTests.ratio("cumulative", objective: 99)
        let alsoGood = ServiceLevelObjective(name: "same-counters", service: "payments", indicator: .ratio(goodMetric: "payments.ok", totalMetric: "payments.all"), objective: 90)
        let stores = try (0..<2).map { _ in try PostgresStore(location: PostgresLocation(url: url), objectives: [slo, alsoGood], connections: 2) }
        func point(_ k: Int, _ good: Double, _ total: Double) -> TelemetryBatch {
            .metrics([ResourceMetrics(resource: Resource(serviceName: "payments"), scopes: [ScopeMetrics(metrics: [
                Metric(name: "payments.ok", data: .sum([NumberPoint(timeUnixNano: SLOTests.minute(k) + 1, value: .double(good))], temporality: .cumulative, isMonotonic: true)),
                Metric(name: "payments.all", data: .sum([NumberPoint(timeUnixNano: SLOTests.minute(k) + 1, value: .double(total))], temporality: .cumulative, isMonotonic: true)),
            ])])])
        }
        _ = try stores[0].ingest(point(6, 100, 100), batchID: "c1")  // baseline
        _ = try stores[1].ingest(point(5, 150, 160), batchID: "c2")  // +50 of +60, on the other collector
        _ = try stores[0].ingest(point(3, 190, 200), batchID: "c4")  // +40 of +40
        _ = try stores[1].ingest(point(4, 170, 180), batchID: "c3")  // late (failed over): already counted
        _ = try stores[1].ingest(point(3, 190, 200), batchID: "c4")  // re-sent: a duplicate
        _ = try stores[0].ingest(point(2, 20, 20), batchID: "c5")    // reset: +20 of +20
        for store in stores {
            for objective in [slo, alsoGood] {
                let status = try store.status(of: objective, nowUnixNano: SLOTests.now)
                #expect(status.total == 120 && status.good == 110, "\(objective.name): \(status.good)/\(status.total)")
            }
        }
        // Many batches of one series at once from both stores: the increases add up to the last value.
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for n in stride(from: worker, to: 40, by: 4) {
                let k = 1
                let batch = TelemetryBatch.metrics([ResourceMetrics(resource: Resource(serviceName: "payments"), scopes: [ScopeMetrics(metrics: [
                    Metric(name: "payments.all", data: .sum([NumberPoint(timeUnixNano: SLOTests.minute(k) + 1 + UInt64(n), value: .double(Double(1_000 + n)))],
                                                       temporality: .cumulative, isMonotonic: true)),
                ])])])
                do { _ = try stores[worker % 2].ingest(batch, batchID: "m\(n)") } catch { failures.withLock { $0.append("\(error)") } }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        let total = try stores[1].status(of: slo, nowUnixNano: SLOTests.now).total
        // The baseline only moves forward and each point adds what it moved, so in whatever order
        // they land the increases add up to the newest value over the last one (20, the reset).
        #expect(total == 120 + 1_039 - 20, "\(total)")
    }

    @Test("collectors on one database with different retentions drop days only past the longest retention recorded in the last hour")
    func retentionIsTheLongest() throws {
        let url = try PostgresServer.shared().createDatabase()
        let stores = try (0..<2).map { _ in try PostgresStore(location: PostgresLocation(url: url), objectives: [], connections: 2) }
        let day = PartitionDay.nanosPerDay
        let now = WallClock.nowUnixNano()
        let span = Span(traceID: .random(), spanID: .random(), name: "op", startTimeUnixNano: now - 3 * day, endTimeUnixNano: now - 3 * day + 1)
        let batch = TelemetryBatch.traces([ResourceSpans(resource: Resource(serviceName: "svc"), scopes: [ScopeSpans(spans: [span])])])
        // The collector keeping 7 days took a span 3 days old.
        _ = try stores[1].ingest(batch, batchID: "three-days-old", nowUnixNano: now)
        #expect(stores[1].dropData(olderThan: now - 7 * day).isEmpty)
        // The one keeping 2 days keeps it too: the other recorded a longer retention.
        #expect(stores[0].dropData(olderThan: now - 2 * day).isEmpty)
        #expect(try stores[0].trace(span.traceID, limit: 10)?.spans.count == 1, "the span the other collector acknowledged is kept")
        // Once the other keeps 2 days as well, the day goes.
        #expect(stores[1].dropData(olderThan: now - 2 * day) == [PartitionDay(unixNano: now - 3 * day)])
        #expect(try stores[0].trace(span.traceID, limit: 10) == nil)
    }

    @Test("a database of schema 1 is brought up to date at start, its data kept")
    func migratesSchemaOne() throws {
        let server = try PostgresServer.shared()
        let url = try server.createDatabase()
        let database = String(url.split(separator: "/").last!)
        let first = try PostgresStore(location: PostgresLocation(url: url), connections: 1)
        let span = Span(traceID: TraceID(high: 4, low: 4), spanID: SpanID(1), name: "GET /", kind: .server,
                        startTimeUnixNano: 1_000_000_000, endTimeUnixNano: 2_000_000_000)
        _ = try first.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "api"), scopes: [ScopeSpans(spans: [span])])]), batchID: "t")
        let record = LogRecord(timeUnixNano: 1_000_000_000, body: .int(5), attributes: [Attribute("user", .string("ann"))], traceID: TraceID(high: 4, low: 4))
        _ = try first.ingest(.logs([ResourceLogs(resource: Resource(serviceName: "api"), scopes: [ScopeLogs(records: [record])])]), batchID: "l")
        // Back to schema 1's layout: its indexes, no tables or columns of schema 2, every body
        // encoded (a text body too; no body at all is empty bytes), correlation attributes kept whole.
        let text = CompactEncoding.encode(value: .string("v1 text")).map { String(format: "%02x", $0) }.joined()
        let attributes = CompactEncoding.encode(attributes: [Attribute("request_id", .string("r-9"))]).map { String(format: "%02x", $0) }.joined()
        try server.psql(database, """
            DROP TABLE periscope.alert_events, periscope.slo_evaluations, periscope.counter_baselines;
            DROP INDEX periscope.trace_segments_by_trace_hash, periscope.logs_by_trace_hash, periscope.logs_by_correlation_hash;
            CREATE INDEX trace_segments_by_trace ON periscope.trace_segments (trace_id);
            CREATE INDEX logs_by_trace ON periscope.logs (trace_id) WHERE trace_id IS NOT NULL;
            CREATE INDEX logs_by_correlation ON periscope.logs (correlation_id) WHERE correlation_id IS NOT NULL;
            ALTER TABLE periscope.logs DROP COLUMN correlation_key;
            ALTER TABLE periscope.logs ALTER COLUMN body SET NOT NULL;
            ALTER TABLE periscope.days DROP COLUMN analyzed_rows;
            ALTER TABLE periscope.request_rollups ALTER COLUMN aggregates SET COMPRESSION default;
            ALTER TABLE periscope.slo_rollups ALTER COLUMN counts SET COMPRESSION default;
            INSERT INTO periscope.logs (day, id, time_ns, observed_ns, service, severity_number, severity_text, body, body_text, attributes, correlation_id)
            VALUES (0, 100, 1000000001, 0, 'api', 9, '', decode('\(text)', 'hex'), 'v1 text', decode('\(attributes)', 'hex'), 'r-9'),
                   (0, 101, 1000000002, 0, 'api', 9, '', ''::bytea, '', ''::bytea, NULL);
            UPDATE periscope.schema_version SET version = 1
            """)
        let upgraded = try PostgresStore(location: PostgresLocation(url: url), connections: 1)
        let hasLZ4 = try server.psql(database, "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
            .trimmingCharacters(in: .whitespacesAndNewlines) == "t"
        let logs = try upgraded.logs(LogQuery(limit: 100)).logs
        #expect(logs.map(\.body) == [.int(5), .string("v1 text"), .empty])
        #expect(logs.map { $0.attributes["user"] ?? $0.attributes["request_id"] } == [.string("ann"), .string("r-9"), nil])
        #expect(try upgraded.logs(LogQuery(correlationID: "r-9")).logs.count == 1)
        #expect(try upgraded.logs(LogQuery(traceID: TraceID(high: 4, low: 4))).logs.count == 1)
        #expect(try upgraded.trace(TraceID(high: 4, low: 4))?.spans.count == 1)
        #expect(try upgraded.alerts.claimEvaluation(of: [], minimumGap: .seconds(1)))
        _ = try upgraded.ingest(Self.logs(2), batchID: "after")
        #expect(try upgraded.logs(LogQuery(limit: 100)).logs.count == 13)
        #expect(try server.psql(database, "SELECT version FROM periscope.schema_version").trimmingCharacters(in: .whitespacesAndNewlines) == "\(PostgresSchema.version)")
        #expect(try server.psql(database, "SELECT string_agg(attcompression::text, ',') FROM pg_attribute WHERE attrelid IN ('periscope.request_rollups'::regclass, 'periscope.slo_rollups'::regclass) AND attname IN ('aggregates', 'counts')")
            .trimmingCharacters(in: .whitespacesAndNewlines) == (hasLZ4 ? "l,l" : ","), "rollup rows compressed with lz4 where the server has it")
        #expect(try server.psql(database, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'periscope' AND indexname IN ('logs_by_trace', 'logs_by_correlation', 'trace_segments_by_trace')")
            .trimmingCharacters(in: .whitespacesAndNewlines) == "0", "the old indexes are gone")
    }

    @Test("rollup names read once are extended by later reads, and a day dropped and numbered afresh by another collector is read whole again")
    func rollupNamesFollowTheDatabase() throws {
        let url = try PostgresServer.shared().createDatabase()
        let reader = try PostgresStore(location: PostgresLocation(url: url), connections: 2)
        let writer = try PostgresStore(location: PostgresLocation(url: url), connections: 2)
        let start: UInt64 = 1_714_564_800_000_000_000
        func requests(_ service: String, _ operations: [String], batch: String) throws {
            let spans = operations.enumerated().map { index, name in
                Span(traceID: TraceID.random(), spanID: SpanID.random(), name: name, kind: .server,
                     startTimeUnixNano: start + UInt64(index), endTimeUnixNano: start + UInt64(index) + 1_000_000)
            }
            _ = try writer.ingest(.traces([ResourceSpans(resource: Resource(serviceName: service), scopes: [ScopeSpans(spans: spans)])]), batchID: batch)
            try writer.flushRollups()
        }
        func operations() throws -> [String: Int] {
            let signals = try reader.goldenSignals(SignalsQuery(byOperation: true, startUnixNano: start, endUnixNano: start + 3_600_000_000_000))
            return Dictionary(uniqueKeysWithValues: signals.rows.map { ("\($0.service) \($0.operation ?? "")", $0.requests) })
        }
        try requests("users", ["GET /a", "GET /b"], batch: "1")
        #expect(try operations() == ["users GET /a": 1, "users GET /b": 1])
        // Names added after the first read (the reader holds the first ones).
        try requests("users", ["GET /c", "GET /a"], batch: "2")
        try requests("orders", ["POST /o"], batch: "3")
        #expect(try operations() == ["users GET /a": 2, "users GET /b": 1, "users GET /c": 1, "orders POST /o": 1])
        // The other collector drops the day, and new traffic numbers its names afresh: the
        // reader's names of that day no longer hold.
        writer.dropData(olderThan: start + PartitionDay.nanosPerDay)
        #expect(try operations().isEmpty)
        // As many names as before or more, so the number the reader knew last is taken again.
        let billing = (0..<7).map { "PUT /\($0)" }
        try requests("billing", billing, batch: "4")
        #expect(try operations() == Dictionary(uniqueKeysWithValues: billing.map { ("billing \($0)", 1) }))
    }

    @Test("held rollup names: a day numbered afresh with the same last name is noticed by its row, not its text")
    func rollupNamesRenumberedInPlace() throws {
        let store = try PostgresStore(location: PostgresLocation(url: try PostgresServer.shared().createDatabase()), connections: 1)
        let day = PartitionDay(index: 20_000), other = PartitionDay(index: 20_001)
        try store.sessions.withSession { session in
            try session.execute("INSERT INTO periscope.rollup_names (day, id, name) VALUES (20000, 1, 'a'), (20000, 2, 'b'), (20000, 3, 'c')", "test")
            #expect(try store.rollupNames.read(days: [day, other], in: session)[day]?.names == ["", "a", "b", "c"])
            // Dropped and numbered afresh: the last name and its number are the same, the rows are not.
            try session.execute("DELETE FROM periscope.rollup_names WHERE day = 20000", "test")
            try session.execute("INSERT INTO periscope.rollup_names (day, id, name) VALUES (20000, 1, 'b'), (20000, 2, 'a'), (20000, 3, 'c')", "test")
            #expect(try store.rollupNames.read(days: [day], in: session)[day]?.names == ["", "b", "a", "c"])
            // Appended: read on from the last one known.
            try session.execute("INSERT INTO periscope.rollup_names (day, id, name) VALUES (20000, 4, 'd'), (20001, 1, 'x')", "test")
            let names = try store.rollupNames.read(days: [day, other], in: session)
            #expect(names[day]?.names == ["", "b", "a", "c", "d"])
            #expect(names[other]?.names == ["", "x"])
            // Emptied: nothing held is answered.
            try session.execute("DELETE FROM periscope.rollup_names WHERE day = 20000", "test")
            #expect(try store.rollupNames.read(days: [day], in: session)[day] == nil)
        }
    }

    @Test("the operation cap holds for collectors together: names one admitted count toward the other's")
    func sharedOperationCap() throws {
        let url = try PostgresServer.shared().createDatabase()
        let stores = try (0..<2).map { _ in try PostgresStore(location: PostgresLocation(url: url), maxOperationsPerService: 5, connections: 2) }
        let start: UInt64 = 1_714_564_800_000_000_000
        func spans(_ names: Range<Int>) -> TelemetryBatch {
            .traces([ResourceSpans(resource: Resource(serviceName: "users"), scopes: [ScopeSpans(spans: names.map { id in
                Span(traceID: TraceID.random(), spanID: SpanID.random(), name: "GET /users/\(id)", kind: .server,
                     startTimeUnixNano: start + UInt64(id), endTimeUnixNano: start + UInt64(id) + 1_000_000)
            })])])
        }
        // Both stores know the day (and its operations) before the other adds any.
        _ = try stores[0].ingest(spans(0..<1), batchID: nil)
        _ = try stores[1].ingest(spans(0..<1), batchID: nil)
        _ = try stores[0].ingest(spans(1..<4), batchID: nil)
        _ = try stores[1].ingest(spans(4..<10), batchID: nil)
        let signals = try stores[0].goldenSignals(SignalsQuery(byOperation: true, startUnixNano: start, endUnixNano: start + 3_600_000_000_000))
        #expect(signals.rows.filter { $0.operation != OperationLimit.overflowName }.count == 5, "\(signals.rows.map(\.operation))")
        #expect(signals.rows.first { $0.operation == OperationLimit.overflowName }?.requests == 5)
        #expect(signals.rows.reduce(0) { $0 + $1.requests } == 11)
    }

    @Test("with a replica, trace, log and metric queries are answered by it; when it is stopped, by the primary")
    func replicaReads() throws {
        let primary = try PostgresServer.shared()
        let url = try primary.createDatabase()
        let database = String(url.split(separator: "/").last!)
        let replica = try primary.startReplica()
        let store = try PostgresStore(
            location: PostgresLocation(url: url), replica: PostgresLocation(url: replica.url(database: database)), connections: 2)
        let span = Span(traceID: TraceID(high: 3, low: 3), spanID: SpanID(1), name: "GET /", kind: .server,
                        startTimeUnixNano: 1_000_000_000, endTimeUnixNano: 2_000_000_000)
        _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "api"), scopes: [ScopeSpans(spans: [span])])]), batchID: "t")
        _ = try store.ingest(Self.logs(1), batchID: "l")
        try replica.waitForReplay(of: primary)
        #expect(try store.trace(TraceID(high: 3, low: 3))?.spans.count == 1)
        #expect(try store.logs(LogQuery(limit: 100)).logs.count == 10)
        // Replay paused on the replica: a batch stored since is not in the answers, so they came from it.
        try replica.psql(database, "SELECT pg_wal_replay_pause()")
        _ = try store.ingest(Self.logs(2), batchID: "l2")
        #expect(try store.logs(LogQuery(limit: 100)).logs.count == 10, "the replica answered (it has not replayed the second batch)")
        #expect(try store.counts()["logs"] == 20, "counts come from the primary")
        try replica.psql(database, "SELECT pg_wal_replay_resume()")
        try replica.waitForReplay(of: primary)
        #expect(try store.logs(LogQuery(limit: 100)).logs.count == 20)
        replica.stop()
        #expect(try store.logs(LogQuery(limit: 100)).logs.count == 20, "the primary answers while the replica is down")
        #expect(try store.trace(TraceID(high: 3, low: 3))?.spans.count == 1)
    }

    /// A replica whose processes are stopped keeps its connections open and never answers. It
    /// used to hold a read until the connect timeout, again every 15 s (or for ever on a
    /// connection already open).
    @Test("a replica that stops answering costs one read its answer timeout; later reads go to the primary at once, and to the replica again once it answers")
    func silentReplica() throws {
        let primary = try PostgresServer.shared()
        let url = try primary.createDatabase()
        let database = String(url.split(separator: "/").last!)
        let replica = try primary.startReplica()
        defer {
            replica.resume()
            replica.stop()
        }
        let store = try PostgresStore(
            location: PostgresLocation(url: url), replica: PostgresLocation(url: replica.url(database: database)), connections: 2,
            replicaAnswerTimeout: .seconds(2), replicaRetryAfter: .milliseconds(500))
        _ = try store.ingest(Self.logs(1), batchID: "l")
        try replica.waitForReplay(of: primary)
        #expect(try store.logs(LogQuery(limit: 100)).logs.count == 10)

        try replica.pause()
        let clock = ContinuousClock()
        var count = 0
        let first = try clock.measure { count = try store.logs(LogQuery(limit: 100)).logs.count }
        #expect(count == 10)
        #expect(first >= .seconds(2) && first < .seconds(10), "the first read found the replica silent at its answer timeout: \(first)")
        // Probes keep finding it silent, apart from reads, which do not wait on it.
        let deadline = clock.now + .seconds(6)
        var slowest = Duration.zero
        while clock.now < deadline {
            slowest = max(slowest, try clock.measure { count = try store.logs(LogQuery(limit: 100)).logs.count })
            #expect(count == 10)
            usleep(50_000)
        }
        #expect(slowest < .seconds(1), "a read waited \(slowest)")

        replica.resume()
        // Back: with replay paused on the replica, a batch stored since is missing from its answers.
        try replica.psql(database, "SELECT pg_wal_replay_pause()")
        _ = try store.ingest(Self.logs(2), batchID: "l2")
        var fromReplica = false
        for _ in 0..<200 where !fromReplica {
            fromReplica = try store.logs(LogQuery(limit: 100)).logs.count == 10
            if !fromReplica { usleep(100_000) }
        }
        #expect(fromReplica, "reads went to the replica again once it answered")
    }
}
