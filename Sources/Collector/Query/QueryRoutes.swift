import Hummingbird
import NIOPosix
import PeriscopeServer
import PeriscopeTelemetry

/// The JSON query API under `/api/v1`. Documents are `QueryAPI` types; errors are
/// `QueryAPI.ErrorBody` with a sentence saying what to change.
struct QueryRoutes: Sendable {
    let store: TelemetryStore

    static let defaultLogLimit = 1000
    static let maxLogLimit = 10_000

    func register(on router: Router<BasicRequestContext>) {
        let api = router.group("api/v1")
        api.get("traces/:traceID") { _, context in
            try await self.trace(context.parameters.require("traceID"))
        }
        api.get("logs") { request, _ in
            try await self.logs(request.uri.queryParameters)
        }
        api.get("metrics") { request, _ in
            try await self.metrics(request.uri.queryParameters)
        }
        api.get("status") { _, _ in
            let store = self.store
            let counts = try await NIOThreadPool.singleton.runIfActive { try store.counts() }
            return Response.json(counts)
        }
    }

    func trace(_ text: String) async throws -> Response {
        guard let traceID = TraceID(hex: text) else {
            return Self.error(.badRequest, "trace ID must be 32 hex digits, got '\(text.prefix(64))'")
        }
        let store = self.store
        guard let trace = try await NIOThreadPool.singleton.runIfActive({ try store.trace(traceID) }) else {
            return Self.error(.notFound, "no trace with ID \(traceID.hex)")
        }
        return Response.json(trace)
    }

    func logs(_ parameters: Parameters) async throws -> Response {
        guard let traceText = parameters["trace_id"].map(String.init) else {
            return Self.error(.badRequest, "give trace_id=<32 hex digits>")
        }
        guard let traceID = TraceID(hex: traceText) else {
            return Self.error(.badRequest, "trace_id must be 32 hex digits, got '\(traceText.prefix(64))'")
        }
        var limit = Self.defaultLogLimit
        if let limitText = parameters["limit"] {
            guard let parsed = Int(limitText), (1...Self.maxLogLimit).contains(parsed) else {
                return Self.error(.badRequest, "limit must be a whole number from 1 to \(Self.maxLogLimit)")
            }
            limit = parsed
        }
        let store = self.store
        let rowLimit = limit
        let logs = try await NIOThreadPool.singleton.runIfActive { try store.logs(traceID: traceID, limit: rowLimit) }
        return Response.json(QueryAPI.Logs(logs: logs))
    }

    func metrics(_ parameters: Parameters) async throws -> Response {
        guard let name = parameters["name"].map(String.init), !name.isEmpty else {
            return Self.error(.badRequest, "give name=<metric name>")
        }
        let service = parameters["service"].map(String.init)
        var limit = Self.defaultLogLimit
        if let limitText = parameters["limit"] {
            guard let parsed = Int(limitText), (1...Self.maxLogLimit).contains(parsed) else {
                return Self.error(.badRequest, "limit must be a whole number from 1 to \(Self.maxLogLimit)")
            }
            limit = parsed
        }
        let store = self.store
        let rowLimit = limit
        let points = try await NIOThreadPool.singleton.runIfActive { try store.metricPoints(name: name, service: service, limit: rowLimit) }
        return Response.json(QueryAPI.MetricPoints(points: points))
    }

    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response.json(status: status, QueryAPI.ErrorBody(error: message))
    }
}
