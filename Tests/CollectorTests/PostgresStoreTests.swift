import Foundation
import Synchronization
@testable import PeriscopeCollector
import PeriscopeModel
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
        #expect(try stores[0].logs(LogQuery(limit: 10_000)).count == 400)
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

    @Test("text with NUL is stored (text columns get U+FFFD; the exact bytes stay in the blocks and bodies)")
    func nulText() throws {
        let store = try PostgresStore(location: PostgresLocation(url: try PostgresServer.shared().createDatabase()), connections: 1)
        let span = Span(traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), name: "GET /\u{0}x", kind: .server,
                        startTimeUnixNano: 1_000_000_000, endTimeUnixNano: 2_000_000_000)
        _ = try store.ingest(.traces([ResourceSpans(resource: Resource(serviceName: "a\u{0}b"), scopes: [ScopeSpans(spans: [span])])]), batchID: "nul\u{0}id")
        let record = LogRecord(timeUnixNano: 1_000_000_000, body: .string("x\u{0}y"), attributes: [Attribute("correlation_id", .string("c\u{0}"))])
        _ = try store.ingest(.logs([ResourceLogs(resource: Resource(serviceName: "a\u{0}b"), scopes: [ScopeLogs(records: [record])])]), batchID: nil)
        #expect(try store.trace(TraceID(high: 1, low: 2))?.spans.first?.name == "GET /\u{0}x")
        #expect(try store.logs(LogQuery()).first?.body == .string("x\u{0}y"))
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
    ])
    func urls(text: String, expected: String) {
        do {
            let location = try PostgresLocation(url: text)
            #expect(location.description == expected)
            if text.contains("p%40ss") { #expect(location.password == "p@ss" && location.requiresTLS) }
        } catch {
            #expect(error.description.contains(expected), "\(error)")
            #expect(!error.description.contains("p%40ss"))
        }
    }
}
