import AsyncHTTPClient
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import PeriscopeBenchKit

/// OTLP/HTTP against OTLP/gRPC into the same agent, on the same workload, in one run: rounds of
/// `requests` log exports of `recordsPerRequest` records with `inFlight` outstanding, the two
/// protocols alternating round by round. For each: items per second, the agent's CPU per item
/// and answer latency.
struct ProtocolComparison: Sendable {
    let requests: Int
    let recordsPerRequest: Int
    let inFlight: Int
    let rounds: Int
    let endpoints: HTTPEndpoints
    let grpcPort: Int
    let agentPID: Int32

    struct Round: Codable, Sendable {
        var itemsPerSecond: Double
        var agentCPUMicrosPerItem: Double
        var latencyMs: Percentiles
        var failures: Int
    }

    struct Report: Codable, Sendable {
        var requests: Int
        var recordsPerRequest: Int
        var inFlight: Int
        var http: [Round]
        var grpc: [Round]
    }

    func run() async throws -> Report {
        let body = Self.body(records: recordsPerRequest)
        var report = Report(requests: requests, recordsPerRequest: recordsPerRequest, inFlight: inFlight, http: [], grpc: [])
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: grpcPort), transportSecurity: .plaintext)
        try await withGRPCClient(transport: transport) { client in
            for _ in 0..<rounds {
                report.http.append(await round { await self.endpoints.postOTLP(path: "/v1/logs", body: body) == 200 })
                report.grpc.append(await round { await Self.export(body, client: client) })
            }
        }
        return report
    }

    /// One round: `requests` sends, `inFlight` at a time.
    private func round(_ send: @escaping @Sendable () async -> Bool) async -> Round {
        let cpuBefore = ProcessStats.read(pid: agentPID).cpuSeconds
        let started = ContinuousClock.now
        let (latencies, failures) = await withTaskGroup(of: (Double, Bool).self) { group in
            var latencies: [Double] = []
            var failures = 0
            var sent = 0
            func launch() {
                sent += 1
                group.addTask {
                    let began = ContinuousClock.now
                    let ok = await send()
                    return (LoadDriver.milliseconds(ContinuousClock.now - began), ok)
                }
            }
            while sent < min(inFlight, requests) { launch() }
            while let (milliseconds, ok) = await group.next() {
                if ok { latencies.append(milliseconds) } else { failures += 1 }
                if sent < requests { launch() }
            }
            return (latencies, failures)
        }
        let seconds = LoadDriver.milliseconds(ContinuousClock.now - started) / 1000
        let items = Double(latencies.count * recordsPerRequest)
        let cpu = ProcessStats.read(pid: agentPID).cpuSeconds - cpuBefore
        return Round(
            itemsPerSecond: seconds > 0 ? items / seconds : 0, agentCPUMicrosPerItem: items > 0 ? cpu * 1e6 / items : 0,
            latencyMs: Percentiles(latencies), failures: failures)
    }

    private static let logsExport = MethodDescriptor(fullyQualifiedService: "opentelemetry.proto.collector.logs.v1.LogsService", method: "Export")

    private static func export(_ body: [UInt8], client: GRPCClient<HTTP2ClientTransport.Posix>) async -> Bool {
        do {
            return try await client.unary(
                request: ClientRequest(message: body), descriptor: logsExport, serializer: RawBytes(), deserializer: RawBytes(),
                options: .defaults
            ) { response in
                _ = try response.message
                return true
            }
        } catch {
            return false
        }
    }

    /// One export request of `records` log records shaped like a service's.
    static func body(records: Int) -> [UInt8] {
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        let ids = IDSource()
        let specs = (0..<records).map { index in
            OTLPPayloads.LogSpec(
                timeNanos: now + UInt64(index), traceID: ids.traceID(UInt64(index)), spanID: ids.spanID(trace: UInt64(index), position: 0),
                body: "GET /api/orders/\(index) answered 200 in 12 ms for customer c-\(index % 97)",
                attributes: [("http.route", "/api/orders/{id}"), ("correlation_id", "req-\(index)")])
        }
        return OTLPPayloads.logs(service: "protocol-comparison", records: specs)
    }
}

/// Messages passed as their bytes, on both sides.
struct RawBytes: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

extension ProtocolComparison.Report {
    func table() -> String {
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        }
        func row(_ name: String, _ rounds: [ProtocolComparison.Round]) -> String {
            let rates = rounds.map(\.itemsPerSecond)
            let cpu = rounds.map(\.agentCPUMicrosPerItem)
            return String(
                format: "| %@ | %.0f (%.0f–%.0f) | %.2f (%.2f–%.2f) | %.2f | %.2f | %d |", name, median(rates), rates.min() ?? 0, rates.max() ?? 0,
                median(cpu), cpu.min() ?? 0, cpu.max() ?? 0, median(rounds.map(\.latencyMs.p50)), median(rounds.map(\.latencyMs.p99)),
                rounds.map(\.failures).reduce(0, +))
        }
        return """
            | protocol | log records/s, median (min–max) | agent CPU µs per record | answer p50 ms | answer p99 ms | failed |
            | --- | ---: | ---: | ---: | ---: | ---: |
            \(row("OTLP/HTTP protobuf", http))
            \(row("OTLP/gRPC", grpc))
            """
    }
}
