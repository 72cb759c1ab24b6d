import PeriscopeModel
import PeriscopeSDK
import Testing

@Suite struct SamplerTests {
    @Test func ratioZeroDropsEveryRoot() {
        let sampler = ParentBasedRatioSampler(ratio: 0)
        for _ in 0..<1000 { #expect(!sampler.shouldSample(traceID: .random(), parent: nil)) }
    }

    @Test func ratioOneKeepsEveryRoot() {
        let sampler = ParentBasedRatioSampler(ratio: 1)
        for _ in 0..<1000 { #expect(sampler.shouldSample(traceID: .random(), parent: nil)) }
        #expect(sampler.shouldSample(traceID: TraceID(high: .max, low: .max), parent: nil))
    }

    @Test func parentDecisionWins() {
        let traceID = TraceID.random()
        let sampledParent = SpanContext(traceID: traceID, spanID: .random(), isSampled: true)
        let unsampledParent = SpanContext(traceID: traceID, spanID: .random(), isSampled: false)
        #expect(ParentBasedRatioSampler(ratio: 0).shouldSample(traceID: traceID, parent: sampledParent))
        #expect(!ParentBasedRatioSampler(ratio: 1).shouldSample(traceID: traceID, parent: unsampledParent))
    }

    @Test func rootDecisionIsDeterministicAndNearTheRatio() {
        let sampler = ParentBasedRatioSampler(ratio: 0.25)
        var generator = SystemRandomNumberGenerator()
        var kept = 0
        for _ in 0..<20_000 {
            let id = TraceID.random(using: &generator)
            let decision = sampler.shouldSample(traceID: id, parent: nil)
            #expect(decision == sampler.shouldSample(traceID: id, parent: nil))
            if decision { kept += 1 }
        }
        #expect((4_000...6_000).contains(kept), "kept \(kept) of 20000 at ratio 0.25")
    }

    @Test func outOfRangeRatiosAreClamped() {
        #expect(ParentBasedRatioSampler(ratio: 7).ratio == 1)
        #expect(ParentBasedRatioSampler(ratio: -1).ratio == 0)
        #expect(ParentBasedRatioSampler(ratio: .nan).ratio == 0)
    }
}
