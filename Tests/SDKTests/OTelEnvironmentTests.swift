import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PeriscopeModel
import ServiceContextModule
@testable import PeriscopeSDK
import Synchronization
import Testing

@Suite("OpenTelemetry environment variables")
struct OTelEnvironmentTests {
    @Test("a pod spec written for another OpenTelemetry SDK configures this one")
    func everyVariable() throws {
        let environment = OTelEnvironment([
            "OTEL_SERVICE_NAME": "checkout",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,service.name=ignored,team=pay%20ments",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://agent.local:4318/",
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://logs.local:9999/custom/logs",
            "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20s3cret,x-tenant=acme",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.25",
            "OTEL_PROPAGATORS": "tracecontext",
        ])
        #expect(environment.warnings.isEmpty, "\(environment.warnings)")
        let configuration = PeriscopeConfiguration(environment: environment)
        #expect(configuration.serviceName == "checkout")
        #expect(configuration.resourceAttributes == ["deployment.environment": "prod", "team": "pay ments"])
        #expect(configuration.agentEndpoint == "http://agent.local:4318")
        #expect(configuration.export.signalEndpoints == [.logs: "http://logs.local:9999/custom/logs"])
        #expect(configuration.export.headers == ["authorization": "Bearer s3cret", "x-tenant": "acme"])
        #expect(configuration.export.requestTimeout == .milliseconds(2500))
        let sampler = try #require(configuration.sampler as? ParentBasedRatioSampler)
        #expect(sampler.ratio == 0.25)
        #expect(configuration.propagators == [.traceContext])
        #expect(!configuration.isDisabled)
    }

    @Test("what the code sets wins over the environment")
    func explicitWins() {
        let environment = OTelEnvironment([
            "OTEL_SERVICE_NAME": "from-env", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318",
            "OTEL_TRACES_SAMPLER": "always_off", "OTEL_RESOURCE_ATTRIBUTES": "team=env,region=eu",
            "OTEL_EXPORTER_OTLP_HEADERS": "x-tenant=env,x-extra=1", "OTEL_PROPAGATORS": "none",
        ])
        var export = OTLPExporter.Configuration(requestTimeout: .seconds(9))
        export.headers = ["x-tenant": "code"]
        let configuration = PeriscopeConfiguration(
            serviceName: "from-code", agentEndpoint: "http://code:4318", samplingRatio: 1, resourceAttributes: ["team": "code"],
            export: export, propagators: .default, environment: environment)
        #expect(configuration.serviceName == "from-code")
        #expect(configuration.agentEndpoint == "http://code:4318")
        #expect((configuration.sampler as? ParentBasedRatioSampler)?.ratio == 1)
        #expect(configuration.resourceAttributes == ["team": "code", "region": "eu"])
        #expect(configuration.export.headers == ["x-tenant": "code", "x-extra": "1"])
        #expect(configuration.export.requestTimeout == .seconds(9))
        #expect(configuration.propagators == .default)
    }

    @Test("always_on and always_off decide alike below any parent")
    func constantSamplers() {
        let sampled = SpanContext(traceID: .random(), spanID: .random(), isSampled: true, traceState: "")
        let unsampled = SpanContext(traceID: .random(), spanID: .random(), isSampled: false, traceState: "")
        let on = OTelEnvironment(["OTEL_TRACES_SAMPLER": "always_on"]).sampler
        let off = OTelEnvironment(["OTEL_TRACES_SAMPLER": "always_off"]).sampler
        for parent in [sampled, unsampled, nil] as [SpanContext?] {
            #expect(on?.shouldSample(traceID: .random(), parent: parent) == true)
            #expect(off?.shouldSample(traceID: .random(), parent: parent) == false)
        }
    }

    @Test("samplers by name", arguments: [
        ("parentbased_always_on", "", 1.0, true), ("parentbased_always_off", "", 0.0, true),
        ("traceidratio", "0.5", 0.5, false), ("parentbased_traceidratio", "0.1", 0.1, true),
    ])
    func samplers(name: String, argument: String, ratio: Double, parentBased: Bool) {
        let environment = OTelEnvironment(["OTEL_TRACES_SAMPLER": name, "OTEL_TRACES_SAMPLER_ARG": argument])
        #expect(environment.warnings.isEmpty)
        let parent = SpanContext(traceID: .random(), spanID: .random(), isSampled: true, traceState: "")
        let sampler = environment.sampler
        if parentBased {
            #expect((sampler as? ParentBasedRatioSampler)?.ratio == ratio)
            #expect(sampler?.shouldSample(traceID: parent.traceID, parent: parent) == true, "a sampled parent's child is sampled")
        } else {
            #expect(sampler is TraceIDRatioSampler)
            // Decided on the trace ID alone: the same answer with or without a parent.
            for _ in 0..<100 {
                let traceID = TraceID.random()
                let child = SpanContext(traceID: traceID, spanID: .random(), isSampled: true, traceState: "")
                #expect(sampler?.shouldSample(traceID: traceID, parent: nil) == sampler?.shouldSample(traceID: traceID, parent: child))
            }
        }
    }

    @Test("values that do not parse are ignored with a warning naming the variable, never a crash")
    func badValues() {
        let environment = OTelEnvironment([
            "OTEL_EXPORTER_OTLP_ENDPOINT": "agent:4318", "OTEL_EXPORTER_OTLP_TIMEOUT": "-5",
            "OTEL_TRACES_SAMPLER": "jaeger_remote", "OTEL_TRACES_SAMPLER_ARG": "2",
            "OTEL_RESOURCE_ATTRIBUTES": "novalue,%zz=1", "OTEL_PROPAGATORS": "b3,baggage",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://x", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://agent:99999", "OTEL_EXPORTER_OTLP_HEADERS": "=x,x-evil=a%0D%0AInjected:%201,bad name=1,ok=fine",
        ])
        let named = Set(environment.warnings.compactMap { $0.split(separator: " ").first.map { String($0.split(separator: "=").first ?? $0).trimmingCharacters(in: CharacterSet(charactersIn: ":")) } })
        for variable in ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_TRACES_SAMPLER", "OTEL_RESOURCE_ATTRIBUTES",
                         "OTEL_PROPAGATORS", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS"] {
            #expect(named.contains(variable), "no warning for \(variable): \(environment.warnings)")
        }
        #expect(environment.endpoint == nil && environment.timeout == nil && environment.sampler == nil)
        #expect(environment.propagators == [.baggage])
        #expect(environment.headers == ["ok": "fine"], "headers that would break every export are dropped")
        let configuration = PeriscopeConfiguration(environment: environment)
        #expect(configuration.agentEndpoint == "http://127.0.0.1:4318")
    }

    @Test("the batch processors' variables size the queues, the batches and the delay; OTEL_METRIC_EXPORT_INTERVAL the metrics")
    func batchProcessorVariables() {
        let environment = OTelEnvironment([
            "OTEL_BSP_MAX_QUEUE_SIZE": "50000", "OTEL_BLRP_MAX_QUEUE_SIZE": "8000",
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "1000", "OTEL_BSP_SCHEDULE_DELAY": "250", "OTEL_METRIC_EXPORT_INTERVAL": "30000",
        ])
        #expect(environment.warnings.isEmpty, "\(environment.warnings)")
        let configuration = PeriscopeConfiguration(environment: environment)
        #expect(configuration.export.spanQueueCapacity == 50_000)
        #expect(configuration.export.logQueueCapacity == 8000)
        #expect(configuration.export.maxBatchSize == 1000)
        #expect(configuration.export.exportInterval == .milliseconds(250))
        #expect(configuration.metrics.exportInterval == .seconds(30))

        // Unset: the SDK's own defaults.
        let defaults = PeriscopeConfiguration(environment: OTelEnvironment([:]))
        #expect(defaults.export.spanQueueCapacity == 2048 && defaults.export.logQueueCapacity == 2048)
        #expect(defaults.export.maxBatchSize == 512 && defaults.export.exportInterval == .seconds(1))
        #expect(defaults.metrics.exportInterval == .seconds(10))

        // One batch size and one delay for both signals: the smaller, with a warning for the one
        // that does not take effect.
        let both = OTelEnvironment([
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "300", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE": "200",
            "OTEL_BSP_SCHEDULE_DELAY": "5000", "OTEL_BLRP_SCHEDULE_DELAY": "200",
        ])
        #expect(both.maxExportBatchSize == 200 && both.scheduleDelay == .milliseconds(200))
        #expect(both.warnings.count == 2, "\(both.warnings)")
        // One signal's delay never slows the other's: an unset one counts as the default (1 s). A
        // batch size set for one holds for both: a larger batch delays nothing.
        let spansOnly = OTelEnvironment(["OTEL_BSP_SCHEDULE_DELAY": "5000", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "2048"])
        #expect(spansOnly.scheduleDelay == .seconds(1) && spansOnly.maxExportBatchSize == 2048)
        #expect(spansOnly.warnings.count == 1, "the delay said not to take effect: \(spansOnly.warnings)")
        // A batch never larger than the queues.
        let small = PeriscopeConfiguration(environment: OTelEnvironment([
            "OTEL_BSP_MAX_QUEUE_SIZE": "100", "OTEL_BLRP_MAX_QUEUE_SIZE": "64", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "512",
        ]))
        #expect(small.export.maxBatchSize == 100)

        // What the code sets wins.
        let explicit = PeriscopeConfiguration(
            export: OTLPExporter.Configuration(spanQueueCapacity: 7), metrics: PeriscopeMetrics.Configuration(exportInterval: .seconds(3)),
            environment: environment)
        #expect(explicit.export.spanQueueCapacity == 7 && explicit.metrics.exportInterval == .seconds(3))
        // The README's form, an implicit member of the optional parameter, still compiles and wins.
        let readme = PeriscopeConfiguration(metrics: .init(exportInterval: .seconds(30)), environment: OTelEnvironment(["OTEL_METRIC_EXPORT_INTERVAL": "5000"]))
        #expect(readme.metrics.exportInterval == .seconds(30))
    }

    @Test("OTEL_BSP_MAX_QUEUE_SIZE bounds what a service queues: past it, spans are dropped and counted")
    func queueSizeFromEnvironment() throws {
        let environment = OTelEnvironment(["OTEL_BSP_MAX_QUEUE_SIZE": "3", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"])
        let periscope = try Periscope(configuration: PeriscopeConfiguration(serviceName: "queue-env", environment: environment))
        for _ in 0..<5 {
            periscope.exporter.submit(PeriscopeModel.Span(traceID: .random(), spanID: .random(), name: "s", startTimeUnixNano: 1, endTimeUnixNano: 2))
        }
        #expect(periscope.exporter.queuedItems == 3)
        #expect(periscope.exporter.droppedSpans == 2)
    }

    @Test("queue, batch and interval values out of range are ignored with a warning naming the variable")
    func badBatchProcessorValues() {
        let bad = [
            "OTEL_BSP_MAX_QUEUE_SIZE": "0", "OTEL_BLRP_MAX_QUEUE_SIZE": "99999999999999999999999",
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "abc", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE": "\(OTelEnvironment.maxExportBatchSize + 1)",
            "OTEL_BSP_SCHEDULE_DELAY": "-1", "OTEL_BLRP_SCHEDULE_DELAY": "0", "OTEL_METRIC_EXPORT_INTERVAL": "99",
        ]
        let environment = OTelEnvironment(bad)
        for variable in bad.keys {
            #expect(environment.warnings.contains { $0.hasPrefix("\(variable)=") }, "no warning for \(variable): \(environment.warnings)")
        }
        #expect(environment.spanQueueSize == nil && environment.logQueueSize == nil && environment.maxExportBatchSize == nil)
        #expect(environment.scheduleDelay == nil && environment.metricExportInterval == nil)
        let configuration = PeriscopeConfiguration(environment: environment)
        #expect(configuration.export.spanQueueCapacity == 2048 && configuration.export.maxBatchSize == 512)
        #expect(configuration.metrics.exportInterval == .seconds(10))
    }

    @Test("a spec written for gRPC SDKs (protocol grpc, port 4317) sends OTLP/HTTP to 4318, with a warning")
    func grpcSpec() {
        let environment = OTelEnvironment(["OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4317"])
        #expect(environment.endpoint == "http://localhost:4318")
        #expect(environment.warnings.count == 1)
    }

    @Test("OTEL_SDK_DISABLED=true: disabled; anything else is not")
    func disabled() {
        #expect(PeriscopeConfiguration(environment: OTelEnvironment(["OTEL_SDK_DISABLED": "true"])).isDisabled)
        #expect(!PeriscopeConfiguration(environment: OTelEnvironment(["OTEL_SDK_DISABLED": "false"])).isDisabled)
        #expect(!PeriscopeConfiguration(environment: OTelEnvironment([:])).isDisabled)
    }

    @Test("propagators: without baggage no baggage header is written or read; without tracecontext no traceparent")
    func propagators() {
        let parent = SpanContext(traceID: .random(), spanID: .random(), isSampled: true, traceState: "")
        var context = ServiceContext.topLevel
        context.spanContext = parent
        context.correlationID = "req-1"
        for (chosen, traceparent, baggage) in [(Propagators.default, true, true), ([.traceContext], true, false), ([.baggage], false, true), ([], false, false)] {
            let tracer = PeriscopeTracer(sampler: ParentBasedRatioSampler(ratio: 1), sink: InMemorySink(), propagators: chosen)
            var headers: [String: String] = [:]
            tracer.inject(context, into: &headers, using: DictionaryInjector())
            #expect((headers["traceparent"] != nil) == traceparent)
            #expect((headers["baggage"] != nil) == baggage)
        }
    }

    @Test("the exporter sends the configured headers, and a signal's own endpoint in place of the base URL")
    func headersAndSignalEndpoints() async throws {
        let seen = Mutex<[(path: String, tenant: String?)]>([])
        let router = Router()
        for path in ["/v1/traces", "/custom/logs"] {
            router.post(RouterPath(path)) { request, _ -> HTTPResponse.Status in
                seen.withLock { $0.append((request.uri.path, request.headers[HTTPField.Name("x-tenant")!])) }
                return .ok
            }
        }
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            let port = try #require(client.port)
            let environment = OTelEnvironment([
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(port)",
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://127.0.0.1:\(port)/custom/logs",
                "OTEL_EXPORTER_OTLP_HEADERS": "x-tenant=acme",
            ])
            let periscope = try Periscope(configuration: PeriscopeConfiguration(serviceName: "env-test", environment: environment))
            periscope.exporter.submit(PeriscopeModel.Span(traceID: .random(), spanID: .random(), name: "s", startTimeUnixNano: 1, endTimeUnixNano: 2))
            periscope.exporter.submit(LogRecord(timeUnixNano: WallClock.nowUnixNano(), body: .string("hello")))
            await periscope.exporter.forceFlush(timeout: .seconds(10))
            #expect(periscope.exporter.exportedSpans == 1 && periscope.exporter.exportedLogs == 1)
        }
        let requests = seen.withLock { $0 }
        #expect(Set(requests.map(\.path)) == ["/v1/traces", "/custom/logs"])
        #expect(requests.allSatisfy { $0.tenant == "acme" })
    }
}
