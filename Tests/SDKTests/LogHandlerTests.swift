import Logging
import PeriscopeSDK
import Testing
import Tracing

@Suite struct LogHandlerTests {
    @Test func recordsInsideASpanCarryItsIDs() throws {
        let sink = InMemorySink()
        let tracer = PeriscopeTracer(sampler: ParentBasedRatioSampler(ratio: 1), sink: sink)
        let provider = Logger.MetadataProvider { ["correlation_id": "c-1"] }
        var logger = Logger(label: "test") { label in
            PeriscopeLogHandler(label: label, sink: sink, logLevel: .debug, metadataProvider: provider)
        }
        logger[metadataKey: "component"] = "cart"

        logger.info("outside")
        tracer.withSpan("request") { span in
            logger.debug("inside", metadata: ["sku": "apple", "user": ["id": "7"]])
            #expect(span.context.spanContext != nil)
        }

        let records = sink.records
        #expect(records.count == 2)
        let outside = try #require(records.first)
        #expect(outside.traceID == nil && outside.spanID == nil)
        #expect(outside.severityNumber == .info)
        #expect(outside.body == .string("outside"))

        let inside = try #require(records.last)
        let span = try #require(sink.span(named: "request"))
        #expect(inside.traceID == span.traceID)
        #expect(inside.spanID == span.spanID)
        #expect(inside.severityNumber == .debug)
        #expect(inside.severityText == "DEBUG")
        #expect(inside.attributes["sku"] == .string("apple"))
        #expect(inside.attributes["user.id"] == .string("7"))
        #expect(inside.attributes["component"] == .string("cart"))
        #expect(inside.attributes["correlation_id"] == .string("c-1"))
        #expect(inside.attributes["code.filepath"] != nil)
        #expect(inside.attributes["code.function"] != nil)
        if case .int(let line)? = inside.attributes["code.lineno"] { #expect(line > 0) } else { Issue.record("no code.lineno") }
    }

    @Test func levelsMapToOpenTelemetrySeverities() {
        #expect(Logger.Level.trace.severity == .trace)
        #expect(Logger.Level.notice.severity.rawValue == 10)
        #expect(Logger.Level.warning.severity == .warn)
        #expect(Logger.Level.critical.severity == .fatal)
    }

    @Test func levelBelowThresholdIsSkipped() {
        let sink = InMemorySink()
        let logger = Logger(label: "quiet") { PeriscopeLogHandler(label: $0, sink: sink, logLevel: .warning) }
        logger.info("dropped")
        logger.error("kept")
        #expect(sink.records.map(\.body) == [.string("kept")])
    }

    @Test func laterMetadataLayersWinAndAttributesAreSortedByKey() throws {
        let sink = InMemorySink()
        let provider = Logger.MetadataProvider { ["layer": "provider", "b": "from provider"] }
        var logger = Logger(label: "layers") { PeriscopeLogHandler(label: $0, sink: sink, metadataProvider: provider) }
        logger[metadataKey: "layer"] = "handler"
        logger[metadataKey: "c"] = "from handler"
        logger.info("one", metadata: ["layer": "call", "a": "from call"])
        logger.info("two")

        let records = sink.records
        #expect(records.count == 2)
        let one = try #require(records.first)
        #expect(one.attributes.prefix(4).map(\.key) == ["a", "b", "c", "layer"])
        #expect(one.attributes["layer"] == .string("call"))
        let two = try #require(records.last)
        #expect(two.attributes["layer"] == .string("provider"))
        #expect(two.attributes["a"] == nil)
        #expect(two.attributes.prefix(3).map(\.key) == ["b", "c", "layer"])
    }
}
