import Hummingbird
import Instrumentation
import Logging
import PeriscopeSDK
import Tracing

/// A Hummingbird router middleware that gives every request a SERVER span and runs the handler
/// inside it, so `Logger` calls and `withSpan` in the handler nest under the request.
///
/// It extracts the caller's W3C `traceparent`/`tracestate` and `baggage` (the tracer's
/// `extract`), takes the correlation ID from baggage, `x-correlation-id` or `x-request-id` and
/// generates one when there is none, so every span and log record of the request carries
/// `correlation_id`. The span is named `METHOD route` and follows the OpenTelemetry HTTP server
/// conventions: `http.request.method`, `http.route`, `url.path`, `http.response.status_code`,
/// and error status on a 5xx response or a thrown error.
/// See https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-server
///
/// ```swift
/// let router = Router()
/// router.add(middleware: TracingRequestMiddleware())   // before the routes
/// router.get("/inventory/:sku") { request, context in … }
/// ```
public struct TracingRequestMiddleware<Context: RequestContext>: RouterMiddleware {
    /// How the matched route appears in the span name and `http.route`.
    public enum RouteStyle: Sendable {
        /// As Hummingbird reports it (`context.endpointPath`): `/inventory/{sku}`.
        case framework
        /// With `:name` parameters, as routes are registered: `/inventory/:sku`.
        case colonParameters
    }

    private let tracer: (any Tracer)?
    private let routeStyle: RouteStyle
    private let echoCorrelationID: Bool

    /// - Parameters:
    ///   - tracer: the tracer to use; `nil` (the default) means `InstrumentationSystem.tracer`,
    ///     which `Periscope.bootstrap` sets.
    ///   - routeStyle: how routes are written in span names and `http.route`.
    ///   - echoCorrelationID: also return the correlation ID to the caller in `x-correlation-id`.
    public init(tracer: (any Tracer)? = nil, routeStyle: RouteStyle = .framework, echoCorrelationID: Bool = true) {
        self.tracer = tracer
        self.routeStyle = routeStyle
        self.echoCorrelationID = echoCorrelationID
    }

    /// Starts the SERVER span, runs `next` in its context, records the outcome and ends the span
    /// when the response is returned (or the error thrown).
    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let tracer = self.tracer ?? InstrumentationSystem.tracer
        var serviceContext = ServiceContext.current ?? .topLevel
        tracer.extract(request.headers, into: &serviceContext, using: HTTPFieldsExtractor())
        if serviceContext.correlationID == nil {
            serviceContext.correlationID = CorrelationID.extract(
                from: request.headers, baggage: nil, using: HTTPFieldsExtractor()) ?? CorrelationID.generate()
        }
        let correlationID = serviceContext.correlationID

        let method = request.method.rawValue
        let path = request.uri.path
        var route = self.route(context.endpointPath)
        let span = tracer.startSpan("\(method) \(route ?? path)", context: serviceContext, ofKind: .server)
        if span.isRecording {
            span.updateAttributes { attributes in
                attributes["http.request.method"] = method
                attributes["url.path"] = path
                if let route { attributes["http.route"] = route }
            }
        }
        defer { span.end() }

        do {
            var response = try await ServiceContext.withValue(span.context) {
                try await next(request, context)
            }
            // Used as an application-level middleware the route is only known now.
            if route == nil, let resolved = self.route(context.endpointPath) {
                route = resolved
                span.operationName = "\(method) \(resolved)"
                span.attributes["http.route"] = resolved
            }
            let status = Int(response.status.code)
            span.attributes["http.response.status_code"] = status
            if status >= 500 {
                span.setStatus(SpanStatus(code: .error, message: "HTTP \(status)"))
            }
            if echoCorrelationID, let correlationID, let name = correlationHeaderName, response.headers[name] == nil {
                response.headers[name] = correlationID
            }
            return response
        } catch {
            let status = Int((error as? any HTTPResponseError)?.status.code ?? 500)
            span.attributes["http.response.status_code"] = status
            if status >= 500 {
                span.recordError(error)
                span.setStatus(SpanStatus(code: .error, message: "HTTP \(status)"))
            }
            throw error
        }
    }


    /// The route in the configured style; `nil` for Hummingbird's placeholders (`NotFound`, …).
    private func route(_ endpointPath: String?) -> String? {
        guard let endpointPath, endpointPath.hasPrefix("/") else { return nil }
        switch routeStyle {
        case .framework:
            return endpointPath
        case .colonParameters:
            return endpointPath.split(separator: "/", omittingEmptySubsequences: false).map { component in
                if component.hasPrefix("{") && component.hasSuffix("}") && component.count > 2 {
                    return ":" + component.dropFirst().dropLast()
                }
                return String(component)
            }.joined(separator: "/")
        }
    }
}

/// `x-correlation-id`, the response header echoing the request's correlation ID.
private let correlationHeaderName = HTTPFields.Element.Name("x-correlation-id")
