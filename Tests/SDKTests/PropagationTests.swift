import PeriscopeModel
import PeriscopeSDK
import Testing
import Tracing

@Suite struct PropagationTests {
    let tracer = PeriscopeTracer(sampler: ParentBasedRatioSampler(ratio: 1), sink: InMemorySink())

    @Test func injectThenExtractRoundTrips() {
        let original = SpanContext(
            traceID: TraceID(hex: "4bf92f3577b34da6a3ce929d0e0e4736")!, spanID: SpanID(hex: "00f067aa0ba902b7")!,
            isSampled: true, traceState: "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
        var context = ServiceContext.topLevel
        context.spanContext = original

        var headers: [String: String] = [:]
        tracer.inject(context, into: &headers, using: DictionaryInjector())
        #expect(headers["traceparent"] == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        #expect(headers["tracestate"] != nil)

        var extracted = ServiceContext.topLevel
        tracer.extract(headers, into: &extracted, using: DictionaryExtractor())
        let remote = try! #require(extracted.spanContext)
        #expect(remote.traceID == original.traceID)
        #expect(remote.spanID == original.spanID)
        #expect(remote.isSampled)
        #expect(remote.isRemote)
        #expect(remote.traceState.contains("congo=t61rcWkgMzE"))
        #expect(remote.traceState.contains("rojo=00f067aa0ba902b7"))
    }

    @Test func unsampledFlagSurvivesTheRoundTrip() {
        var context = ServiceContext.topLevel
        context.spanContext = SpanContext(traceID: .random(), spanID: .random(), isSampled: false)
        var headers: [String: String] = [:]
        tracer.inject(context, into: &headers, using: DictionaryInjector())
        #expect(headers["traceparent"]?.hasSuffix("-00") == true)
        #expect(headers["tracestate"] == nil)
        var extracted = ServiceContext.topLevel
        tracer.extract(headers, into: &extracted, using: DictionaryExtractor())
        #expect(extracted.spanContext?.isSampled == false)
    }

    @Test(arguments: [
        "",
        "garbage",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
    ])
    func malformedTraceparentIsIgnored(_ value: String) {
        var extracted = ServiceContext.topLevel
        tracer.extract(["traceparent": value], into: &extracted, using: DictionaryExtractor())
        #expect(extracted.spanContext == nil)
    }

    @Test func malformedTracestateKeepsTheParent() {
        let parent = W3CPropagation.spanContext(
            traceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", traceState: "=,,=bad value")
        #expect(parent?.traceID.hex == "4bf92f3577b34da6a3ce929d0e0e4736")
    }

    @Test func headerNamesMatchCaseInsensitively() {
        var extracted = ServiceContext.topLevel
        tracer.extract(
            ["TraceParent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
            into: &extracted, using: DictionaryExtractor())
        #expect(extracted.spanContext?.spanID.hex == "00f067aa0ba902b7")
    }
}
