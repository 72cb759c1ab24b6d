import PeriscopeModel

/// Decides, when a span starts, whether it is recorded and exported.
/// A seam: the walking skeleton ships one policy, later ones (tail hints, rate limits) plug in here.
public protocol Sampler: Sendable {
    /// `true` to record and export the new span. `parent` is the local or extracted parent, if any.
    func shouldSample(traceID: TraceID, parent: SpanContext?) -> Bool
}

/// Parent-based ratio sampling, the OpenTelemetry default shape: a child follows its parent's
/// decision so traces stay whole; a root is kept when its trace ID falls under the ratio, so
/// every service that sees the same trace ID decides the same way.
public struct ParentBasedRatioSampler: Sampler {
    /// The share of root traces kept, clamped to 0...1.
    public let ratio: Double
    private let threshold: UInt64

    /// 56 random bits of the trace ID are compared, as W3C Trace Context level 2 prescribes.
    private static let randomBits: UInt64 = 0x00FF_FFFF_FFFF_FFFF

    /// `ratio` outside 0...1 is clamped; NaN counts as 0.
    public init(ratio: Double) {
        let clamped = ratio.isNaN ? 0 : min(max(ratio, 0), 1)
        self.ratio = clamped
        // ratio * 2^56 is exact enough and never overflows.
        self.threshold = UInt64(clamped * 72_057_594_037_927_936.0)
    }

    /// The parent's decision if there is a parent, else the ratio decision on the trace ID.
    public func shouldSample(traceID: TraceID, parent: SpanContext?) -> Bool {
        if let parent { return parent.isSampled }
        return sampleRoot(traceID)
    }

    /// The root decision alone: deterministic in the trace ID.
    public func sampleRoot(_ traceID: TraceID) -> Bool {
        if ratio >= 1 { return true }
        if ratio <= 0 { return false }
        return (traceID.low & Self.randomBits) < threshold
    }
}

/// Ratio sampling on the trace ID alone, parent or not (`OTEL_TRACES_SAMPLER=traceidratio`):
/// every service decides the same way for the same trace, so a trace stays whole as long as
/// every service uses the same ratio.
public struct TraceIDRatioSampler: Sampler {
    private let ratio: ParentBasedRatioSampler

    public init(ratio: Double) {
        self.ratio = ParentBasedRatioSampler(ratio: ratio)
    }

    public func shouldSample(traceID: TraceID, parent: SpanContext?) -> Bool {
        ratio.sampleRoot(traceID)
    }
}

/// The same decision for every span, parent or not (`OTEL_TRACES_SAMPLER=always_on` or
/// `always_off`): `always_off` sheds every span, also below sampled remote parents.
public struct ConstantSampler: Sampler {
    public let decision: Bool

    public init(_ decision: Bool) {
        self.decision = decision
    }

    public func shouldSample(traceID: TraceID, parent: SpanContext?) -> Bool { decision }
}
