import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PeriscopeDelivery
import PeriscopeModel
import PeriscopeServer
import Synchronization

/// Posts SLO alerts to every configured Alertmanager (`--alertmanager`), as Prometheus does to
/// an Alertmanager cluster: each gets every alert, and Alertmanager deduplicates, groups and
/// routes them. A failed post is not retried on its own: the next evaluation sends the firing
/// alerts again.
struct AlertmanagerNotifier: Sendable {
    /// Alertmanagers' base URLs, e.g. `http://127.0.0.1:9093`.
    let endpoints: [String]
    var timeout = Duration.seconds(10)
    /// What `timeout` is measured on: real time, or a test's manual clock.
    var timeline = Timeline.continuous
    /// Where posts are counted for `/metrics`.
    var counters: AlertingCounters?
    let logger: Logger
    private let failureLog = LogThrottle()

    init(
        endpoints: [String], timeout: Duration = .seconds(10), timeline: Timeline = .continuous, counters: AlertingCounters? = nil, logger: Logger
    ) {
        self.endpoints = endpoints
        self.counters = counters
        self.timeout = timeout
        self.timeline = timeline
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
                group.addTask {
                    let taken = await post(body, to: endpoint)
                    counters?.posted(to: endpoint, taken: taken)
                    return taken
                }
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
        // races `timeout` on the injected timeline. The first to finish answers; the exchange is
        // then cancelled and not waited for (the client's read timeout ends it if cancelling does
        // not), so a stalled Alertmanager costs one timeout, whatever the client does.
        let (timeout, timeline) = (self.timeout, self.timeline)
        let answer = FirstAnswer()
        let problem: String? = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                answer.wait(with: continuation)
                answer.start(Task { answer.give(await Self.exchange(body, url: url, timeout: timeout)) })
                answer.start(Task {
                    let cancelled = (try? await timeline.sleep(for: timeout)) == nil
                    answer.give(cancelled ? "cancelled" : "no whole answer within \(timeout)")
                })
            }
        } onCancel: {
            answer.give("cancelled")
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

/// The first of several racing tasks to answer resumes the waiter, whenever it starts waiting;
/// the others are cancelled.
private final class FirstAnswer: Sendable {
    private struct State {
        var continuation: CheckedContinuation<String?, Never>?
        /// The first answer, once given (`.some(nil)`: success).
        var answer: String??
        var tasks: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())

    func wait(with continuation: CheckedContinuation<String?, Never>) {
        let given: String?? = state.withLock { state in
            if state.answer == nil { state.continuation = continuation }
            return state.answer
        }
        if let given { continuation.resume(returning: given) }
    }

    /// Keeps `task` to cancel once answered (at once if the answer came first).
    func start(_ task: Task<Void, Never>) {
        let answered = state.withLock { state in
            if state.answer == nil { state.tasks.append(task) }
            return state.answer != nil
        }
        if answered { task.cancel() }
    }

    func give(_ problem: String?) {
        let taken: (CheckedContinuation<String?, Never>?, [Task<Void, Never>])? = state.withLock { state in
            guard state.answer == nil else { return nil }
            state.answer = .some(problem)
            defer { (state.continuation, state.tasks) = (nil, []) }
            return (state.continuation, state.tasks)
        }
        guard let (continuation, tasks) = taken else { return }
        for task in tasks { task.cancel() }
        continuation?.resume(returning: problem)
    }
}
