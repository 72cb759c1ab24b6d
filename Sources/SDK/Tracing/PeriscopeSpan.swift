import Instrumentation
import PeriscopeModel
import ServiceContextModule
import Synchronization
import Tracing

/// A live span. Mutations take one small lock; an unsampled span skips them all, so it costs
/// little more than its IDs while still carrying context to children and outgoing requests.
public final class PeriscopeSpan: Tracing.Span {
    private struct State {
        var operationName: String
        /// `nil` until first set: an empty `SpanAttributes` costs a call into the tracing library.
        var attributes: SpanAttributes?
        var events: [PeriscopeModel.Span.Event] = []
        var links: [PeriscopeModel.Span.Link] = []
        var status = PeriscopeModel.Span.Status()
        var ended = false
        /// `context`, once built.
        var context: ServiceContext?
    }

    /// The context children inherit: the parent context plus this span's `SpanContext`.
    /// Built on first use and kept until `end()`: adding a key to a `ServiceContext` is the costliest step of
    /// a span (a dictionary, a boxed value, generic calls), and a span that is never made current
    /// nor propagated (a leaf) never needs it.
    public var context: ServiceContext {
        state.withLock { state in
            if let context = state.context { return context }
            var context = parentContext
            context.spanContext = spanContext
            state.context = context
            return context
        }
    }
    /// This span's identity.
    public let spanContext: SpanContext
    /// The parent's span ID, `nil` for a root span.
    public let parentSpanID: SpanID?
    /// The OTLP span kind.
    public let kind: PeriscopeModel.Span.Kind
    /// Start time in Unix nanoseconds.
    public let startTimeUnixNano: UInt64
    /// The request's correlation ID, exported as the `correlation_id` attribute (sampled spans only).
    public let correlationID: String?

    private let parentContext: ServiceContext
    private let state: Mutex<State>
    private let sink: (any TelemetrySink)?

    init(
        operationName: String, parentContext: ServiceContext, spanContext: SpanContext, parentSpanID: SpanID?,
        kind: PeriscopeModel.Span.Kind, startTimeUnixNano: UInt64, correlationID: String? = nil,
        sink: (any TelemetrySink)?
    ) {
        self.parentContext = parentContext
        self.spanContext = spanContext
        self.parentSpanID = parentSpanID
        self.kind = kind
        self.startTimeUnixNano = startTimeUnixNano
        self.correlationID = correlationID
        self.sink = spanContext.isSampled ? sink : nil
        self.state = Mutex(State(operationName: operationName))
    }

    /// The span name; may be renamed until the span ends (e.g. once the route is known).
    public var operationName: String {
        get { state.withLock { $0.operationName } }
        set {
            guard sink != nil else { return }
            state.withLock { if !$0.ended { $0.operationName = newValue } }
        }
    }

    /// The span attributes; writes after `end()` or on an unsampled span are ignored.
    public var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } ?? [:] }
        set {
            guard sink != nil else { return }
            state.withLock { if !$0.ended { $0.attributes = newValue } }
        }
    }

    /// Recording means sampled and not yet ended; callers may skip building attributes otherwise.
    public var isRecording: Bool {
        sink != nil && !state.withLock { $0.ended }
    }

    /// Follows OpenTelemetry: `ok` is final, and a message only accompanies `error`.
    public func setStatus(_ status: SpanStatus) {
        guard sink != nil else { return }
        state.withLock { state in
            guard !state.ended, state.status.code != .ok else { return }
            switch status.code {
            case .ok: state.status = .init(code: .ok)
            case .error: state.status = .init(code: .error, message: status.message ?? "")
            }
        }
    }

    /// Adds a timestamped event.
    public func addEvent(_ event: SpanEvent) {
        guard sink != nil else { return }
        let converted = PeriscopeModel.Span.Event(
            timeUnixNano: event.nanosecondsSinceEpoch, name: event.name,
            attributes: event.attributes.telemetryAttributes)
        state.withLock { if !$0.ended { $0.events.append(converted) } }
    }

    /// Adds an OpenTelemetry `exception` event and marks the span as failed (unless already `ok`).
    public func recordError<Instant: TracerInstant>(
        _ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant
    ) {
        guard sink != nil else { return }
        let message = String(describing: error)
        var eventAttributes = [
            Attribute("exception.type", .string(String(reflecting: type(of: error)))),
            Attribute("exception.message", .string(message)),
        ]
        eventAttributes += attributes.telemetryAttributes
        let event = PeriscopeModel.Span.Event(
            timeUnixNano: instant().nanosecondsSinceEpoch, name: "exception", attributes: eventAttributes)
        state.withLock { state in
            guard !state.ended else { return }
            state.events.append(event)
            if state.status.code == .unset { state.status = .init(code: .error, message: message) }
        }
    }

    /// Links another span (e.g. the producer of a consumed message); ignored if it has no `SpanContext`.
    public func addLink(_ link: SpanLink) {
        guard sink != nil, let linked = link.context.spanContext else { return }
        let converted = PeriscopeModel.Span.Link(
            traceID: linked.traceID, spanID: linked.spanID, traceState: linked.traceState,
            attributes: link.attributes.telemetryAttributes)
        state.withLock { if !$0.ended { $0.links.append(converted) } }
    }

    /// Ends the span once; a sampled span is handed to the sink, later calls are ignored.
    /// Events, links and the context move out of the span rather than being copied; the name,
    /// status and attributes stay readable.
    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        guard let sink else {
            state.withLock { $0.ended = true }
            return
        }
        let endTime = max(instant().nanosecondsSinceEpoch, startTimeUnixNano)
        var finished = State(operationName: "")
        let ending = state.withLock { state in
            guard !state.ended else { return false }
            swap(&finished, &state)
            state.operationName = finished.operationName
            state.attributes = finished.attributes
            state.status = finished.status
            state.ended = true
            return true
        }
        guard ending else { return }
        var attributes = finished.attributes?.telemetryAttributes ?? []
        // Stamped here rather than at start: no attribute write (and no lock) on the start path.
        if let correlationID { attributes.stampCorrelationID(correlationID) }
        sink.submit(PeriscopeModel.Span(
            traceID: spanContext.traceID, spanID: spanContext.spanID, parentSpanID: parentSpanID,
            traceState: spanContext.traceState, flags: UInt32(spanContext.traceFlags),
            name: finished.operationName, kind: kind,
            startTimeUnixNano: startTimeUnixNano, endTimeUnixNano: endTime,
            attributes: attributes, events: finished.events, links: finished.links, status: finished.status))
    }
}
