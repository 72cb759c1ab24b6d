import PeriscopeModel
import PeriscopeSDK
import Testing
import Tracing

@Suite struct TracerTests {
    struct Boom: Error {}

    @Test func nestedWithSpanGetsTheRightParent() async throws {
        let sink = InMemorySink()
        let tracer = PeriscopeTracer(sampler: ParentBasedRatioSampler(ratio: 1), sink: sink)
        await tracer.withSpan("outer", ofKind: .server) { _ in
            tracer.withSpan("middle") { _ in
                tracer.withSpan("inner", ofKind: .client) { _ in }
            }
            await tracer.withSpan("sibling") { _ in await Task.yield() }
        }
        let outer = try #require(sink.span(named: "outer"))
        let middle = try #require(sink.span(named: "middle"))
        let inner = try #require(sink.span(named: "inner"))
        let sibling = try #require(sink.span(named: "sibling"))
        #expect(outer.parentSpanID == nil)
        #expect(outer.kind == .server)
        #expect(middle.parentSpanID == outer.spanID)
        #expect(inner.parentSpanID == middle.spanID)
        #expect(inner.kind == .client)
        #expect(sibling.parentSpanID == outer.spanID)
        #expect(Set([outer, middle, inner, sibling].map(\.traceID)).count == 1)
        #expect(Set([outer, middle, inner, sibling].map(\.spanID)).count == 4)
        #expect(outer.startTimeUnixNano <= inner.startTimeUnixNano)
        #expect(outer.endTimeUnixNano >= inner.endTimeUnixNano)
    }

    @Test func startSpanHonoursAnExtractedParent() {
        let sink = InMemorySink()
        let tracer = PeriscopeTracer(sampler: ParentBasedRatioSampler(ratio: 0), sink: sink)
        var context = ServiceContext.topLevel
        tracer.extract(
            ["traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
            into: &context, using: DictionaryExtractor())
        let span = tracer.startSpan("GET /x", context: context, ofKind: .server)
        span.end()
        let exported = sink.spans
        #expect(exported.count == 1, "a sampled remote parent wins over ratio 0")
        #expect(exported.first?.traceID.hex == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(exported.first?.parentSpanID?.hex == "00f067aa0ba902b7")
    }

    @Test func unsampledSpansPropagateButAreNotExported() {
        let sink = InMemorySink()
        let tracer = PeriscopeTracer(sampler: ParentBasedRatioSampler(ratio: 0), sink: sink)
        tracer.withSpan("root") { root in
            #expect(!root.isRecording)
            root.attributes["ignored"] = "yes"
            var headers: [String: String] = [:]
            tracer.inject(ServiceContext.current!, into: &headers, using: DictionaryInjector())
            let spanContext = root.context.spanContext!
            #expect(headers["traceparent"] == "00-\(spanContext.traceID.hex)-\(spanContext.spanID.hex)-00")
            tracer.withSpan("child") { child in
                #expect(child.context.spanContext?.traceID == spanContext.traceID)
            }
        }
        #expect(sink.spans.isEmpty)
    }

    @Test func attributesEventsLinksAndErrorsAreRecorded() throws {
        let sink = InMemorySink()
        let tracer = PeriscopeTracer(sampler: ParentBasedRatioSampler(ratio: 1), sink: sink)
        let linked = tracer.startSpan("linked", context: .topLevel)
        linked.end()
        #expect(throws: Boom.self) {
            try tracer.withSpan("work") { span in
                span.attributes["s"] = "text"
                span.attributes["i"] = 42
                span.attributes["d"] = 1.5
                span.attributes["b"] = true
                span.attributes["ints"] = [1, 2, 3]
                span.attributes["strings"] = ["a", "b"]
                span.addEvent(SpanEvent(name: "cache.miss", attributes: ["key": "k1"]))
                span.addLink(SpanLink(context: linked.context, attributes: ["why": "retry"]))
                throw Boom()
            }
        }
        let work = try #require(sink.span(named: "work"))
        #expect(work.attributes["s"] == .string("text"))
        #expect(work.attributes["i"] == .int(42))
        #expect(work.attributes["d"] == .double(1.5))
        #expect(work.attributes["b"] == .bool(true))
        #expect(work.attributes["ints"] == .array([.int(1), .int(2), .int(3)]))
        #expect(work.attributes["strings"] == .array([.string("a"), .string("b")]))
        #expect(work.events.map(\.name) == ["cache.miss", "exception"])
        let exception = try #require(work.events.last)
        #expect(exception.attributes["exception.type"]?.text.hasSuffix("Boom") == true)
        #expect(exception.attributes["exception.message"] != nil)
        #expect(work.status.code == .error)
        #expect(work.links.first?.spanID == linked.context.spanContext?.spanID)
        #expect(work.links.first?.attributes["why"] == .string("retry"))
    }

    @Test func okStatusIsFinalAndEndIsIdempotent() {
        let sink = InMemorySink()
        let tracer = PeriscopeTracer(sampler: ParentBasedRatioSampler(ratio: 1), sink: sink)
        let span = tracer.startSpan("once", context: .topLevel)
        span.setStatus(SpanStatus(code: .ok))
        span.setStatus(SpanStatus(code: .error, message: "late"))
        span.end()
        span.end()
        span.attributes["after"] = "end"
        #expect(sink.spans.count == 1)
        #expect(sink.spans.first?.status.code == .ok)
        #expect(sink.spans.first?.attributes["after"] == nil)
    }

    /// A tracer that records every span into a fresh sink, and a request context carrying a correlation ID.
    static func recordingTracer(correlationID: String) -> (InMemorySink, PeriscopeTracer, ServiceContext) {
        let sink = InMemorySink()
        var request = ServiceContext.topLevel
        request.correlationID = correlationID
        return (sink, PeriscopeTracer(sampler: ParentBasedRatioSampler(ratio: 1), sink: sink), request)
    }

    @Test func spanContextIsBuiltOnceFromTheParentsContext() throws {
        let (sink, tracer, request) = Self.recordingTracer(correlationID: "req-7")
        let span = tracer.startSpan("outer", context: request)
        let context = span.context
        #expect(context.spanContext == span.spanContext)
        #expect(context.correlationID == "req-7", "the parent's values stay")
        #expect(span.context.spanContext == context.spanContext)
        let child = tracer.startSpan("inner", context: context)
        child.end()
        span.end()
        #expect(span.context.spanContext == span.spanContext, "still readable after end")

        let inner = try #require(sink.span(named: "inner"))
        #expect(inner.parentSpanID == span.spanContext.spanID)
        #expect(inner.traceID == span.spanContext.traceID)
        #expect(inner.attributes["correlation_id"] == .string("req-7"))
    }

    @Test func exportedSpanHasSortedAttributesTheRequestsIDAndTheFinalState() throws {
        let (sink, tracer, request) = Self.recordingTracer(correlationID: "req-8")
        let span = tracer.startSpan("GET /x", context: request, ofKind: .server)
        span.attributes["zzz"] = 1
        span.attributes["aaa"] = "first"
        span.operationName = "GET /x/:id"
        span.setStatus(SpanStatus(code: .error, message: "bad"))
        span.end()
        span.operationName = "after end"
        #expect(!span.isRecording)
        #expect(span.attributes["aaa"]?.toSpanAttribute() == "first", "readable after end")

        let exported = try #require(sink.spans.first)
        #expect(exported.name == "GET /x/:id")
        #expect(exported.kind == .server)
        #expect(exported.attributes.map(\.key) == ["aaa", "correlation_id", "zzz"])
        #expect(exported.attributes["correlation_id"] == .string("req-8"))
        #expect(exported.status == PeriscopeModel.Span.Status(code: .error, message: "bad"))
        #expect(exported.endTimeUnixNano >= exported.startTimeUnixNano && exported.startTimeUnixNano > 0)
        #expect(exported.spanID == span.spanContext.spanID && exported.parentSpanID == nil)
    }
}
