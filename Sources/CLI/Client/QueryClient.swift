import AsyncHTTPClient
import Foundation
import PeriscopeModel
import PeriscopeQueryAPI

/// Talks to the collector's query API (`/api/v1/…`).
struct QueryClient: Sendable {
    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:4400`.
    var baseURL: String
    var token: String?
    /// Deadline for a whole request, answer included.
    var timeoutSeconds: Int64
    var http: HTTPClient

    static let connectTimeoutSeconds: Int64 = 5
    /// Largest answer read; a trace of a million spans is well below it.
    static let maximumResponseBytes = 512 * 1024 * 1024

    /// A client that fails fast when the collector is not listening (no connection retries).
    static func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(connectTimeoutSeconds), read: .seconds(60))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .follow(max: 3, allowCycles: false)
        configuration.decompression = .enabled(limit: .ratio(100))
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    func trace(_ id: TraceID) async throws -> QueryAPI.Trace {
        try await get("/api/v1/traces/\(id.hex)", as: QueryAPI.Trace.self) { status, body in
            status == 404 ? .traceNotFound(id.hex) : nil
        }
    }

    func logs(traceID: TraceID, limit: Int) async throws -> QueryAPI.Logs {
        try await logs(LogFilter(traceID: traceID, limit: limit))
    }

    /// `GET /api/v1/logs?…` in the filter's order.
    func logs(_ filter: LogFilter) async throws -> QueryAPI.Logs {
        try await get("/api/v1/logs" + Self.queryString(filter.queryItems), as: QueryAPI.Logs.self) { _, _ in nil }
    }

    /// `GET /api/v1/traces?…`: summaries, newest first.
    func searchTraces(_ filter: TraceFilter) async throws -> QueryAPI.TraceList {
        try await get("/api/v1/traces" + Self.queryString(filter.queryItems), as: QueryAPI.TraceList.self) { _, _ in nil }
    }

    /// `GET /api/v1/traces?id_prefix=HEX`: the traces whose ID starts with `prefix`.
    func traces(idPrefix prefix: String, limit: Int) async throws -> QueryAPI.TraceList {
        try await get(
            "/api/v1/traces" + Self.queryString([("id_prefix", prefix), ("limit", String(limit))]),
            as: QueryAPI.TraceList.self
        ) { _, _ in nil }
    }

    func services() async throws -> QueryAPI.Services {
        try await get("/api/v1/services", as: QueryAPI.Services.self) { _, _ in nil }
    }

    func dependencies(_ range: TimeRange) async throws -> QueryAPI.Dependencies {
        try await get("/api/v1/dependencies" + Self.queryString(range.queryItems), as: QueryAPI.Dependencies.self) { _, _ in nil }
    }

    /// `?a=1&b=2` with every value percent-encoded (only RFC 3986 unreserved characters
    /// stay), or `""` for no items.
    static func queryString(_ items: [(String, String)]) -> String {
        guard !items.isEmpty else { return "" }
        return "?" + items.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&")
    }

    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }

    /// GETs `path` and decodes a 200 answer; any other answer becomes a `QueryError`,
    /// `special` getting the first say.
    func get<Document: Decodable>(
        _ path: String, as type: Document.Type,
        special: (Int, QueryAPI.ErrorBody?) -> QueryError?
    ) async throws -> Document {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "periscope-cli")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }

        let status: Int
        let body: Data
        do {
            let response = try await http.execute(request, timeout: .seconds(timeoutSeconds))
            status = Int(response.status.code)
            var buffer = try await response.body.collect(upTo: Self.maximumResponseBytes)
            body = Data(buffer.readBytes(length: buffer.readableBytes) ?? [])
        } catch {
            throw Self.transportError(error, collector: baseURL, timeoutSeconds: timeoutSeconds)
        }

        guard status == 200 else {
            let errorBody = try? JSONDecoder().decode(QueryAPI.ErrorBody.self, from: body)
            if let error = special(status, errorBody) { throw error }
            throw Self.httpError(status: status, body: body, tokenGiven: token != nil)
        }
        do {
            return try QueryAPI.decoder().decode(Document.self, from: body)
        } catch {
            throw QueryError("the collector at \(baseURL) sent an answer this periscope cannot read (\(Self.describe(decodingError: error))): is it the same version?")
        }
    }

    /// The error for a non-200 answer the caller did not handle itself.
    static func httpError(status: Int, body: Data, tokenGiven: Bool) -> QueryError {
        if status == 401 { return .unauthorized(tokenGiven: tokenGiven) }
        let message = (try? JSONDecoder().decode(QueryAPI.ErrorBody.self, from: body)).map { Text.sanitize($0.error) }
        if status == 403 {
            return QueryError("the collector forbids this query" + (message.map { ": \($0)" } ?? ""))
        }
        if let message, !message.isEmpty {
            return QueryError("the collector answered \(status): \(message)")
        }
        let text = Text.sanitize(String(String(decoding: body.prefix(200), as: UTF8.self).trimmingSpaces))
        return QueryError("the collector answered HTTP \(status)" + (text.isEmpty ? "" : ": \(text)"))
    }

    /// The error for a request that got no HTTP answer.
    static func transportError(_ error: any Error, collector: String, timeoutSeconds: Int64) -> QueryError {
        if let error = error as? QueryError { return error }
        let text = String(describing: error)
        if String(describing: type(of: error)).contains("TooManyBytes") {
            return QueryError("the collector at \(collector) sent more than \(maximumResponseBytes / 1024 / 1024) MiB")
        }
        if let http = error as? HTTPClientError {
            switch http {
            case .deadlineExceeded, .readTimeout:
                return QueryError("the collector at \(collector) did not answer within \(timeoutSeconds)s (raise --timeout)")
            case .connectTimeout:
                return .unreachable(collector, reason: "no connection within \(connectTimeoutSeconds)s")
            case .remoteConnectionClosed:
                return QueryError("the collector at \(collector) closed the connection before answering")
            default:
                break
            }
        }
        let lowered = text.lowercased()
        if lowered.contains("connection refused") || lowered.contains("econnrefused") {
            return .unreachable(collector, reason: "connection refused")
        }
        if lowered.contains("nxdomain") || lowered.contains("name or service not known") || lowered.contains("getaddrinfo")
            || lowered.contains("unknown host") || lowered.contains("resolve") {
            return .unreachable(collector, reason: "unknown host")
        }
        if lowered.contains("timed out") || lowered.contains("timeout") {
            return .unreachable(collector, reason: "timed out")
        }
        if lowered.contains("ssl") || lowered.contains("tls") || lowered.contains("certificate") || lowered.contains("handshake") {
            return .unreachable(collector, reason: "TLS failed (\(text))")
        }
        return .unreachable(collector, reason: text)
    }

    private static func describe(decodingError error: any Error) -> String {
        guard let error = error as? DecodingError else { return String(describing: error) }
        switch error {
        case .dataCorrupted(let context), .keyNotFound(_, let context), .typeMismatch(_, let context), .valueNotFound(_, let context):
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return (path.isEmpty ? "" : "at \(path): ") + context.debugDescription
        @unknown default:
            return String(describing: error)
        }
    }
}
