import Foundation
import PeriscopeTesting
import Testing

/// Jaeger's HTTP query API on a real collector holding the CLI tests' data set, read as the
/// Jaeger UI and Grafana's Jaeger data source read it.
@Suite("Jaeger query API")
struct JaegerAPITests {
    struct Envelope<Payload: Decodable>: Decodable {
        struct Failure: Decodable { var code: Int; var msg: String }
        var data: Payload?
        var total: Int
        var errors: [Failure]?
    }

    struct Tag: Decodable {
        var key: String
        var type: String
        var value: Value
        enum Value: Decodable, Equatable {
            case string(String), bool(Bool), number(Double)
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let flag = try? container.decode(Bool.self) { self = .bool(flag) }
                else if let number = try? container.decode(Double.self) { self = .number(number) }
                else { self = .string(try container.decode(String.self)) }
            }
        }
    }

    struct Trace: Decodable {
        struct Span: Decodable {
            struct Reference: Decodable { var refType: String; var traceID: String; var spanID: String }
            struct Log: Decodable { var timestamp: UInt64; var fields: [Tag] }
            var traceID: String
            var spanID: String
            var operationName: String
            var references: [Reference]
            var startTime: UInt64
            var duration: UInt64
            var tags: [Tag]
            var logs: [Log]
            var processID: String
        }
        struct Process: Decodable { var serviceName: String; var tags: [Tag] }
        var traceID: String
        var spans: [Span]
        var processes: [String: Process]
    }

    static func get<Payload: Decodable>(_ path: String, _ collector: CollectorProcess, as: Payload.Type) async throws -> (Int, Envelope<Payload>) {
        let reply = try await TestHTTP.get(collector.url + "/jaeger/api" + path, headers: ["Authorization": "Bearer \(collector.token)"])
        return (reply.status, try JSONDecoder().decode(Envelope<Payload>.self, from: Data(reply.body)))
    }

    @Test("services, operations, a trace with processes, references and tags, searches by tags and duration, dependencies, errors")
    func queryAPI() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CLITests.collectorWithData(directory)
        defer { Task { await collector.process.stop() } }

        let (status, services) = try await Self.get("/services", collector, as: [String].self)
        #expect(status == 200 && services.data == ["admin", "cart", "checkout", "frontend", "payments"] && services.total == 5, "\(services.data ?? [])")
        let (_, operations) = try await Self.get("/services/frontend/operations", collector, as: [String].self)
        #expect(operations.data == ["GET /checkout", "GET /home", "POST /notify", "POST checkout"])
        struct Operation: Decodable, Equatable { var name: String; var spanKind: String }
        let (_, servers) = try await Self.get("/operations?service=frontend&spanKind=server", collector, as: [Operation].self)
        #expect(servers.data?.map(\.name) == ["GET /checkout", "GET /home", "POST /notify"])

        let (found, document) = try await Self.get("/traces/\(CLITests.checkoutTrace.hex)", collector, as: [Trace].self)
        let trace = try #require(document.data?.first, "status \(found)")
        #expect(trace.traceID == CLITests.checkoutTrace.hex && trace.spans.count == 5)
        #expect(Set(trace.processes.values.map(\.serviceName)) == ["frontend", "checkout", "payments"])
        let bySpan = Dictionary(uniqueKeysWithValues: trace.spans.map { ($0.spanID, $0) })
        let charge = try #require(bySpan["0000000000000005"])
        #expect(charge.operationName == "charge card" && trace.processes[charge.processID]?.serviceName == "payments")
        #expect(charge.references.map(\.refType) == ["CHILD_OF"] && charge.references.first?.spanID == "0000000000000003")
        #expect(charge.duration == 55_000, "microseconds")
        #expect(charge.startTime == (bySpan["0000000000000001"]?.startTime ?? 0) + 30_000)
        let tags = Dictionary(charge.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        #expect(tags["error"] == .bool(true) && tags["span.kind"] == .string("server") && tags["otel.status_description"] == .string("card declined"))
        #expect(bySpan["0000000000000001"]?.references.isEmpty == true, "the root has no parent")
        let frontendRoot = try #require(bySpan["0000000000000001"])
        #expect(frontendRoot.tags.contains { $0.key == "http.route" && $0.type == "string" && $0.value == .string("/checkout") })

        let (_, failed) = try await Self.get("/traces?start=0&tags=%7B%22error%22%3A%22true%22%7D", collector, as: [Trace].self)
        #expect(failed.data?.map(\.traceID) == [CLITests.checkoutTrace.hex], "only the checkout trace failed")
        let (_, home) = try await Self.get("/traces?start=0&service=frontend&operation=GET%20%2Fhome", collector, as: [Trace].self)
        #expect(home.data?.map(\.traceID) == [CLITests.homeTrace.hex])
        let (_, slow) = try await Self.get("/traces?start=0&service=payments&minDuration=50ms", collector, as: [Trace].self)
        #expect(slow.data?.map(\.traceID) == [CLITests.checkoutTrace.hex], "charge card took 55 ms, refund 30")
        let (_, recent) = try await Self.get("/traces?service=frontend", collector, as: [Trace].self)
        #expect(recent.data?.count == 3, "the last hour by default: the data set is two minutes old")

        struct Dependency: Decodable, Hashable { var parent: String; var child: String; var callCount: Int }
        let (_, edges) = try await Self.get("/dependencies?endTs=\(UInt64(Date().timeIntervalSince1970 * 1000))&lookback=3600000", collector, as: [Dependency].self)
        #expect(Set(edges.data ?? []).isSuperset(of: [
            Dependency(parent: "frontend", child: "checkout", callCount: 1), Dependency(parent: "checkout", child: "payments", callCount: 1),
        ]), "\(edges.data ?? [])")

        let (missing, notFound) = try await Self.get("/traces/ffffffffffffffff", collector, as: [Trace].self)
        #expect(missing == 404 && notFound.errors?.first?.code == 404 && notFound.data == nil)
        let (_, asked) = try await Self.get("/traces?traceID=\(CLITests.homeTrace.hex)&traceID=\(CLITests.refundTrace.hex)&service=nobody", collector, as: [Trace].self)
        #expect(asked.data?.map(\.traceID) == [CLITests.homeTrace.hex, CLITests.refundTrace.hex], "traceID= asks for those traces, whatever else")
        for limit in ["0", "100000"] {
            let (code, many) = try await Self.get("/traces?start=0&limit=\(limit)", collector, as: [Trace].self)
            #expect(code == 200 && many.data?.count == 3, "limit=\(limit) is taken as Jaeger takes it: \(code)")
        }
        for bad in [
            "/traces?tags=%7Bnot%20json", "/traces?tags=%7B%22error%22%3Atrue%7D", "/traces?start=yesterday", "/traces?limit=many",
            "/traces?tag=nocolon", "/traces/xyz", "/traces?minDuration=2s&maxDuration=1s", "/traces?traceID=zz",
        ] {
            let (code, answer) = try await Self.get(bad, collector, as: [Trace].self)
            #expect(code == 400 && answer.errors?.first?.code == 400 && answer.errors?.first?.msg.isEmpty == false, "\(bad)")
        }
        let anonymous = try await TestHTTP.get(collector.url + "/jaeger/api/services")
        #expect(anonymous.status == 401, "behind the bearer token")
    }
}
