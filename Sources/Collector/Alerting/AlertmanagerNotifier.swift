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

    /// Fails at once against a port nobody listens on (`HTTPClient.shared` retries a refused
    /// connection until the request's deadline), and gives up on a connection that goes quiet.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        configuration.timeout.read = .seconds(10)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    private func post(_ body: [UInt8], to endpoint: String) async -> Bool {
        let url = (endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint) + "/api/v2/alerts"
        // The client's deadline ends with the answer's head: the whole exchange, body included,
        // races `timeout` here, so an Alertmanager that sends headers and stalls is given up on.
        let timeout = self.timeout
        let problem = await withTaskGroup(of: String?.self) { group in
            group.addTask { await Self.exchange(body, url: url, timeout: timeout) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : "no whole answer within \(timeout)"
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let problem else { return true }
        if let held = failureLog.admit() {
            logger.warning("Alertmanager \(url) did not take the SLO alerts (\(problem)); they are sent again at the next evaluation\(LogThrottle.heldBack(held, "failures"))")
        }
        return false
    }

    /// One post; nil when Alertmanager took the alerts, else what went wrong.
    private static func exchange(_ body: [UInt8], url: String, timeout: Duration) async -> String? {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(timeout.wholeNanoseconds))
            if (200..<300).contains(response.status.code) {
                // Taken: what the answer's body holds (or whether it arrives whole) changes nothing.
                _ = try? await response.body.collect(upTo: 64 * 1024)
                return nil
            }
            let answer = (try? await response.body.collect(upTo: 4 * 1024)).map { String(buffer: $0) } ?? ""
            return "answered \(response.status.code) \(ControlCharacters.escaped(String(answer.prefix(300))))"
        } catch {
            return "\(error)"
        }
    }
}
