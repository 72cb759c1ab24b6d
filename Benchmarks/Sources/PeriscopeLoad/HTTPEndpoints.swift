import PeriscopeBenchKit
import AsyncHTTPClient
import Foundation
import NIOCore

/// The HTTP calls the load generator makes: OTLP posts to the agent and query-API reads from
/// the collector, all over one shared client on loopback.
struct HTTPEndpoints: Sendable {
    /// The agent's base URL, e.g. `http://127.0.0.1:41234`.
    let agentURL: String
    /// The collector's base URL.
    let collectorURL: String
    /// The shared client; its owner shuts it down.
    let client: HTTPClient

    /// A client allowing `connections` concurrent connections per host.
    static func makeClient(connections: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connections
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// POSTs an OTLP protobuf body to the agent (or to `base`) at `path` (`/v1/traces` or
    /// `/v1/logs`) and returns the HTTP status (0 when the request failed without an answer).
    func postOTLP(path: String, body: [UInt8], base: String? = nil) async -> Int {
        var request = HTTPClientRequest(url: (base ?? agentURL) + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-protobuf")
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            return Int(response.status.code)
        } catch {
            return 0
        }
    }

    /// The collector's `/api/v1/status` row counts, or nil if it did not answer.
    func collectorCounts() async -> [String: Int]? {
        guard let (status, body) = await get(collectorURL + "/api/v1/status"), status == 200 else { return nil }
        return try? JSONDecoder().decode([String: Int].self, from: body)
    }

    /// Polls `/api/v1/status` every 100 ms until it shows at least `spans` and `logs`, or
    /// `timeout` passes; returns the last counts seen.
    func waitUntilStored(spans: Int, logs: Int, timeout: Duration) async -> [String: Int] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Int] = [:]
        repeat {
            if let counts = await collectorCounts() {
                last = counts
                if counts["spans", default: 0] >= spans, counts["logs", default: 0] >= logs { return counts }
            }
            try? await Task.sleep(for: .milliseconds(100))
        } while ContinuousClock.now < deadline
        return last
    }

    /// How many spans `/api/v1/traces/{id}` returns for `traceHex`; 0 for 404, nil on error.
    func spanCount(traceHex: String) async -> Int? {
        guard let (status, body) = await get(collectorURL + "/api/v1/traces/" + traceHex) else { return nil }
        if status == 404 { return 0 }
        guard status == 200,
              let document = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let spans = document["spans"] as? [Any] else { return nil }
        return spans.count
    }

    private func get(_ url: String) async -> (Int, Data)? {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        do {
            let response = try await client.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 64 << 20)
            return (Int(response.status.code), Data(body.readableBytesView))
        } catch {
            return nil
        }
    }
}
