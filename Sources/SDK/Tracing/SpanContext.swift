import Instrumentation
import PeriscopeModel
import ServiceContextModule

/// The identity of one span as it travels with a request: what a child span needs to
/// name its parent and what W3C `traceparent`/`tracestate` carry across processes.
public struct SpanContext: Hashable, Sendable {
    /// The trace every span of one request shares.
    public var traceID: TraceID
    /// This span's own ID; children use it as their parent span ID.
    public var spanID: SpanID
    /// The head-sampling decision; unsampled spans propagate but are never exported.
    public var isSampled: Bool
    /// The raw W3C `tracestate` value, passed on untouched (empty when absent).
    public var traceState: String
    /// `true` when the context was extracted from an incoming request rather than created here.
    public var isRemote: Bool

    /// A span identity; `isRemote` marks one extracted from an incoming request.
    public init(traceID: TraceID, spanID: SpanID, isSampled: Bool, traceState: String = "", isRemote: Bool = false) {
        self.traceID = traceID
        self.spanID = spanID
        self.isSampled = isSampled
        self.traceState = traceState
        self.isRemote = isRemote
    }

    /// The W3C trace flags byte: bit 0 is "sampled".
    public var traceFlags: UInt8 { isSampled ? 0x01 : 0x00 }
}

/// The `ServiceContext` key under which Periscope keeps the active span's identity.
public enum SpanContextKey: ServiceContextKey {
    /// The stored value.
    public typealias Value = SpanContext
    /// The name shown when a context is printed.
    public static var nameOverride: String? { "periscope-span-context" }
}

extension ServiceContext {
    /// The active span's identity, if a Periscope span (or an extracted parent) is in this context.
    public var spanContext: SpanContext? {
        get { self[SpanContextKey.self] }
        set { self[SpanContextKey.self] = newValue }
    }
}
