import Instrumentation
import PeriscopeModel
import ServiceContextModule
import Tracing

/// The swift-distributed-tracing `Tracer` behind `withSpan`: it starts `PeriscopeSpan`s whose
/// parent is the active (or extracted) `SpanContext`, applies the sampler, hands finished spans
/// to a `TelemetrySink`, and propagates context with W3C Trace Context headers.
public struct PeriscopeTracer: Tracer {
    /// The span type this tracer starts.
    public typealias Span = PeriscopeSpan

    /// Decides which new traces are recorded.
    public let sampler: any Sampler
    private let sink: any TelemetrySink
    private let flush: @Sendable () -> Void

    /// A tracer that is not installed globally, e.g. for tests; pass it to code that takes a tracer.
    /// `flush` is what `forceFlush()` triggers (the exporter's non-blocking flush request).
    /// Which context formats `inject` writes and `extract` reads.
    public let propagators: Propagators

    public init(
        sampler: any Sampler, sink: any TelemetrySink, propagators: Propagators = .default,
        flush: @escaping @Sendable () -> Void = {}
    ) {
        self.propagators = propagators
        self.sampler = sampler
        self.sink = sink
        self.flush = flush
    }

    /// Starts a span whose parent is the `SpanContext` in `context`, or a new root trace.
    /// The sampler decides whether it records; either way its context propagates.
    public func startSpan<Instant: TracerInstant>(
        _ operationName: String,
        context: @autoclosure () -> ServiceContext,
        ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant,
        function: String,
        file fileID: String,
        line: UInt
    ) -> PeriscopeSpan {
        let parentContext = context()
        // A top-level context holds nothing: skip the lookups (each a hash and a dynamic cast).
        let parent = parentContext.isEmpty ? nil : parentContext.spanContext
        let traceID = parent?.traceID ?? TraceID.random()
        let identity = SpanContext(
            traceID: traceID,
            spanID: SpanID.random(),
            isSampled: sampler.shouldSample(traceID: traceID, parent: parent),
            traceState: parent?.traceState ?? "")
        let correlationID = identity.isSampled && !parentContext.isEmpty ? parentContext.correlationID : nil
        return PeriscopeSpan(
            operationName: operationName, parentContext: parentContext, spanContext: identity,
            parentSpanID: parent?.spanID, kind: kind.telemetryKind,
            startTimeUnixNano: instant().nanosecondsSinceEpoch,
            correlationID: correlationID, sink: sink)
    }

    /// Asks the exporter to send what it holds now, without waiting for it.
    public func forceFlush() {
        flush()
    }

    /// Writes W3C `traceparent`/`tracestate` for the span in `context`, if any, and `baggage`
    /// holding the context's baggage plus its correlation ID (as `correlation_id`).
    public func inject<Carrier, Inject: Injector>(
        _ context: ServiceContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        if propagators.contains(.traceContext), let spanContext = context.spanContext {
            W3CPropagation.inject(spanContext, into: &carrier, using: injector)
        }
        guard propagators.contains(.baggage) else { return }
        let correlationID = context.correlationID
        guard correlationID != nil || context.baggage != nil else { return }
        var baggage = context.baggage ?? Baggage()
        if let correlationID { baggage[CorrelationID.attributeKey] = correlationID }
        if !baggage.isEmpty {
            injector.inject(baggage.headerValue, forKey: Baggage.headerName, into: &carrier)
        }
    }

    /// Reads W3C `traceparent`/`tracestate` into `context` as the remote parent (malformed headers
    /// are ignored), `baggage` into `context.baggage`, and the correlation ID from baggage,
    /// `x-correlation-id` or `x-request-id` into `context.correlationID`. Generates nothing: a
    /// server that wants an ID for every request does that itself (the Hummingbird middleware does).
    public func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract
    ) where Extract.Carrier == Carrier {
        if propagators.contains(.traceContext), let remote = W3CPropagation.extract(from: carrier, using: extractor) {
            context.spanContext = remote
        }
        if propagators.contains(.baggage), let header = extractor.extract(key: Baggage.headerName, from: carrier) {
            var baggage = Baggage(headerValue: header)
            let carried = baggage[CorrelationID.attributeKey]
            baggage[CorrelationID.attributeKey] = nil  // kept apart, in `correlationID`
            if !baggage.isEmpty { context.baggage = baggage }
            if let carried, CorrelationID.isValid(carried) {
                context.correlationID = carried
                return
            }
        }
        if let id = CorrelationID.extract(from: carrier, baggage: nil, using: extractor) {
            context.correlationID = id
        }
    }
}
