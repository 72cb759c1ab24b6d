import AsyncHTTPClient
import Foundation
import NIOCore
import PeriscopeBenchKit

/// HTTP calls to one collector: OTLP posts (retried, bounded, on refusal) and timed GETs.
struct StoreClient: Sendable {
    let baseURL: String
    let client: HTTPClient

    static func makeClient(connections: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connections
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// POSTs an OTLP protobuf body; retries a refused or failed request up to 50 times (100 ms
    /// apart). Returns the attempts beyond the first, or nil if it never succeeded.
    func postOTLP(path: String, body: [UInt8]) async -> Int? {
        let buffer = ByteBuffer(bytes: body)
        for attempt in 0..<50 {
            var request = HTTPClientRequest(url: baseURL + path)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-protobuf")
            request.body = .bytes(buffer)
            if let response = try? await client.execute(request, timeout: .seconds(60)),
               (try? await response.body.collect(upTo: 1 << 20)) != nil,
               (200..<300).contains(Int(response.status.code)) {
                return attempt
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    /// A GET, timed from sending the request to having read the whole body.
    func timedGet(_ pathAndQuery: String) async -> (status: Int, body: Data, ms: Double) {
        var request = HTTPClientRequest(url: baseURL + pathAndQuery)
        request.method = .GET
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let response = try await client.execute(request, timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 256 << 20)
            let elapsed = clock.now - start
            return (Int(response.status.code), Data(body.readableBytesView), Self.ms(elapsed))
        } catch {
            return (0, Data(), Self.ms(clock.now - start))
        }
    }

    /// `/api/v1/status` row counts.
    func counts() async -> [String: Int]? {
        let answer = await timedGet("/api/v1/status")
        guard answer.status == 200 else { return nil }
        return try? JSONDecoder().decode([String: Int].self, from: answer.body)
    }

    /// Polls `/api/v1/status` every 50 ms until `spans` and `logs` are stored or `timeout` passes.
    func waitStored(spans: Int, logs: Int, timeout: Duration) async -> [String: Int] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Int] = [:]
        while ContinuousClock.now < deadline {
            if let counts = await counts() {
                last = counts
                if counts["spans", default: 0] >= spans, counts["logs", default: 0] >= logs { return counts }
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return last
    }

    static func ms(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15
    }

    /// The element count of the first array in a JSON object's top level (`traces`, `logs`, `spans`, …).
    static func resultCount(_ body: Data, key: String) -> Int? {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let array = object[key] as? [Any] else { return nil }
        return array.count
    }
}

/// Runs `total` jobs with at most `inFlight` outstanding; returns the jobs' results in order of completion.
func boundedConcurrently<T: Sendable>(total: Int, inFlight: Int, _ job: @escaping @Sendable (Int) async -> T) async -> [T] {
    await withTaskGroup(of: T.self) { group in
        var next = 0
        var results: [T] = []
        results.reserveCapacity(total)
        while next < min(inFlight, total) {
            let index = next
            group.addTask { await job(index) }
            next += 1
        }
        while let result = await group.next() {
            results.append(result)
            if next < total {
                let index = next
                group.addTask { await job(index) }
                next += 1
            }
        }
        return results
    }
}
