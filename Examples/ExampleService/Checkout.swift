import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import PeriscopeHTTPClient
import PeriscopeSDK
import ServiceLifecycle
import Tracing

/// The frontend's work: N checkouts, each a root SERVER span with a "validate cart" child and a
/// CLIENT call to the backend that carries `traceparent` and, in `baggage`, the checkout's
/// correlation ID. Every 7th checkout asks for the "broken" SKU, so some traces end in error.
/// Each checkout also counts itself (`checkout.requests`, by outcome) and times itself
/// (`checkout.duration`).
enum Checkout {
    static let skus = ["apple", "banana", "cherry", "durian", "elderberry", "fig"]

    struct BackendUnreachable: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs the checkouts under a `ServiceGroup` with Periscope, so SIGINT/SIGTERM stop early and
    /// everything recorded is flushed before returning.
    static func run(backend: String, options: FrontendOptions, periscope: Periscope) async throws {
        var logger = Logger(label: "periscope-example.frontend")
        logger.logLevel = .info
        let load = CheckoutLoad(backend: backend, options: options, periscope: periscope)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [
                .init(service: periscope),
                .init(service: load, successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        defer { printExportSummary(options.service, periscope.statistics) }
        try await group.run()
    }
}

/// The request loop as a service: when it finishes, the group shuts down gracefully.
struct CheckoutLoad: Service {
    var backend: String
    var options: FrontendOptions
    var periscope: Periscope

    func run() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.tracing.tracer = nil  // tracedExecute makes the CLIENT span; no automatic one
        configuration.timeout = .init(connect: .seconds(2), read: .seconds(10))
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let logger = {
            var logger = Logger(label: "checkout")
            logger.logLevel = .debug
            return logger
        }()

        let requests = options.requests
        let intervalMs = options.intervalMs
        let outcome = await cancelWhenGracefulShutdown { () -> (failures: Int, lastError: String) in
            var failures = 0
            var lastError = ""
            for index in 0..<requests {
                if Task.isCancelled { break }
                do {
                    try await checkout(index: index + 1, client: client, logger: logger)
                } catch {
                    failures += 1
                    lastError = "\(error)"
                }
                if intervalMs > 0 {
                    try? await Task.sleep(for: .milliseconds(intervalMs))
                }
            }
            return (failures, lastError)
        }
        try? await client.shutdown()
        await periscope.forceFlush()
        if requests > 0 && outcome.failures == requests {
            throw Checkout.BackendUnreachable(description: "every checkout failed to reach \(backend): \(outcome.lastError)")
        }
    }

    private func checkout(index: Int, client: HTTPClient, logger: Logger) async throws {
        let sku = options.fault.sku(index: index, requests: options.requests)
            ?? (index % 7 == 0 ? "broken" : Checkout.skus[index % Checkout.skus.count])
        let items = 1 + index % 4
        // Each checkout stands for an incoming request: a new trace with a correlation ID of its own.
        var request = ServiceContext.topLevel
        request.correlationID = CorrelationID.generate()
        let started = ContinuousClock.now
        var outcome = "error"
        defer {
            Counter(label: "checkout.requests", dimensions: [("outcome", outcome)]).increment()
            Metrics.Timer(label: "checkout.duration").record(duration: ContinuousClock.now - started)
        }
        try await withSpan("POST /checkout", context: request, ofKind: .server) { span in
            if let traceID = span.context.spanContext?.traceID {
                printLine("trace \(traceID.hex)")
            }
            span.attributes["http.request.method"] = "POST"
            span.attributes["http.route"] = "/checkout"
            span.attributes["cart.items"] = items
            span.attributes["checkout.id"] = index

            withSpan("validate cart", ofKind: .internal) { _ in
                logger.info("cart validated", metadata: ["checkout.id": "\(index)", "cart.items": "\(items)"])
            }

            let status: Int
            do {
                status = try await callBackend(sku: sku, client: client)
            } catch {
                span.attributes["http.response.status_code"] = 502
                span.setStatus(SpanStatus(code: .error, message: "inventory unreachable"))
                logger.error("inventory unreachable", metadata: ["sku": "\(sku)", "error": "\(error)"])
                throw error
            }

            let code = status >= 500 ? 502 : (status == 404 ? 409 : 200)
            span.attributes["http.response.status_code"] = code
            if code >= 500 {
                span.setStatus(SpanStatus(code: .error, message: "inventory answered \(status)"))
            } else {
                outcome = "ok"
            }
            logger.info("checkout complete", metadata: [
                "checkout.id": "\(index)", "sku": "\(sku)",
                "inventory.status": "\(status)", "http.response.status_code": "\(code)",
            ])
        }
    }

    /// The CLIENT span and header injection come from `tracedExecute`; the body is read after it.
    private func callBackend(sku: String, client: HTTPClient) async throws -> Int {
        var request = HTTPClientRequest(url: backend + "/inventory/" + sku)
        request.method = .GET
        let response = try await client.tracedExecute(
            request, timeout: .seconds(10), operationName: "GET /inventory/{sku}",
            attributes: ["inventory.sku": .string(sku)])
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }
}
