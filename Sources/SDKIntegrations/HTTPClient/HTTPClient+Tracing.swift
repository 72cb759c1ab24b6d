import AsyncHTTPClient
import Instrumentation
import NIOCore
import PeriscopeSDK
import Tracing

extension HTTPClient {
    /// Executes `request` inside a CLIENT span, with the trace context injected into its headers.
    ///
    /// The span is named `operationName`, or `METHOD host` by default (low cardinality, as the
    /// OpenTelemetry HTTP client conventions advise); it is a child of the span in `context` and
    /// carries `http.request.method`, `url.full`, `server.address`, `server.port` and
    /// `http.response.status_code`. A 5xx response or a thrown error marks it failed. The
    /// request gets `traceparent`, `tracestate` and `baggage` (with the correlation ID), so the
    /// server's spans join the same trace. The span ends when the response head arrives; read
    /// the body afterwards.
    /// See https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-client
    ///
    /// Create the client with `configuration.tracing.tracer = nil`, or AsyncHTTPClient adds a
    /// second, header-less span of its own under this one.
    ///
    /// ```swift
    /// let response = try await client.tracedExecute(request, timeout: .seconds(10), operationName: "GET /inventory/{sku}")
    /// ```
    /// - Parameters:
    ///   - operationName: the span name; `METHOD host` when `nil`.
    ///   - attributes: extra span attributes, e.g. business identifiers.
    ///   - context: the parent context; `ServiceContext.current` when `nil`.
    ///   - tracer: the tracer; `InstrumentationSystem.tracer` when `nil`.
    public func tracedExecute(
        _ request: HTTPClientRequest,
        timeout: TimeAmount,
        operationName: String? = nil,
        attributes: SpanAttributes = [:],
        context: ServiceContext? = nil,
        tracer: (any Tracer)? = nil
    ) async throws -> HTTPClientResponse {
        let tracer = tracer ?? InstrumentationSystem.tracer
        let target = HTTPTarget(url: request.url)
        let method = request.method.rawValue
        let span = tracer.startSpan(
            operationName ?? "\(method) \(target.host ?? "unknown")",
            context: context ?? ServiceContext.current ?? .topLevel, ofKind: .client)
        defer { span.end() }
        if span.isRecording {
            span.updateAttributes { spanAttributes in
                spanAttributes["http.request.method"] = method
                spanAttributes["url.full"] = request.url
                if let host = target.host { spanAttributes["server.address"] = host }
                if let port = target.port { spanAttributes["server.port"] = port }
                spanAttributes.merge(attributes)
            }
        }

        var request = request
        var headers: [String: String] = [:]
        tracer.inject(span.context, into: &headers, using: DictionaryInjector())
        for (name, value) in headers {
            request.headers.replaceOrAdd(name: name, value: value)
        }

        do {
            let response = try await ServiceContext.withValue(span.context) {
                try await execute(request, timeout: timeout)
            }
            let status = Int(response.status.code)
            span.attributes["http.response.status_code"] = status
            if status >= 500 {
                span.setStatus(SpanStatus(code: .error, message: "HTTP \(status)"))
            }
            return response
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error, message: "\(type(of: error))"))
            throw error
        }
    }
}

/// Host and port of a URL string, without Foundation: `scheme://[user@]host[:port]/…`.
struct HTTPTarget {
    var host: String?
    var port: Int?

    init(url: String) {
        guard let schemeEnd = url.range(of: "://") else { return }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        var authority = url[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let rest = authority[authority.index(after: close)...]
            port = rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            port = Int(authority[authority.index(after: colon)...])
        } else {
            host = authority.isEmpty ? nil : String(authority)
        }
        if port == nil { port = scheme == "https" ? 443 : scheme == "http" ? 80 : nil }
    }
}
