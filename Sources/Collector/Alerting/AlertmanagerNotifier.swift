import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PeriscopeDelivery
import PeriscopeModel
import PeriscopeServer

/// Posts SLO alerts to every configured Alertmanager (`--alertmanager`), as Prometheus does to
/// an Alertmanager cluster: each gets every alert, and Alertmanager deduplicates, groups and
/// routes them. A failed post is not retried on its own: the next evaluation sends the firing
/// alerts again.
struct AlertmanagerNotifier: Sendable {
    /// Alertmanagers' base URLs, e.g. `http://127.0.0.1:9093`.
    let endpoints: [String]
    var timeout = Duration.seconds(10)
    let logger: Logger
    private let failureLog = LogThrottle()

    init(endpoints: [String], timeout: Duration = .seconds(10), logger: Logger) {
        self.endpoints = endpoints
        self.timeout = timeout
        self.logger = logger
    }

    /// `POST {endpoint}/api/v2/alerts` to every endpoint at once; true when all took them.
    @discardableResult
    func send(_ alerts: [AlertmanagerAlert]) async -> Bool {
        guard !alerts.isEmpty else { return true }
        let body: [UInt8]
        do {
            body = Array(try JSONEncoder().encode(alerts))
        } catch {
            logger.error("cannot encode alerts for Alertmanager: \(error)")
            return false
        }
        return await withTaskGroup(of: Bool.self) { group in
            for endpoint in endpoints {
                group.addTask { await post(body, to: endpoint) }
            }
            return await group.reduce(true) { $0 && $1 }
        }
    }

    /// Fails at once against a port nobody listens on: `HTTPClient.shared` retries a refused
    /// connection until the request's deadline.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    private func post(_ body: [UInt8], to endpoint: String) async -> Bool {
        let url = (endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint) + "/api/v2/alerts"
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        let problem: String
        do {
            let response = try await Self.client.execute(request, timeout: .nanoseconds(timeout.wholeNanoseconds))
            if (200..<300).contains(response.status.code) {
                _ = try? await response.body.collect(upTo: 64 * 1024)
                return true
            }
            let answer = (try? await response.body.collect(upTo: 4 * 1024)).map { String(buffer: $0) } ?? ""
            problem = "answered \(response.status.code) \(ControlCharacters.escaped(String(answer.prefix(300))))"
        } catch {
            problem = "\(error)"
        }
        if let held = failureLog.admit() {
            logger.warning("Alertmanager \(url) did not take the SLO alerts (\(problem)); they are sent again at the next evaluation\(LogThrottle.heldBack(held, "failures"))")
        }
        return false
    }
}
