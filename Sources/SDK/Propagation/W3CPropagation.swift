import Instrumentation
import PeriscopeModel
import W3CTraceContext

/// W3C Trace Context (`traceparent`, `tracestate`) encoding of a `SpanContext`, built on the
/// swift-w3c-trace-context parser so malformed headers are rejected exactly as the spec says.
/// See https://www.w3.org/TR/trace-context/
public enum W3CPropagation {
    /// The header carrying version, trace ID, parent span ID and flags.
    public static let traceParentHeader = "traceparent"
    /// The header carrying vendor-specific state, passed on untouched.
    public static let traceStateHeader = "tracestate"

    /// Writes `traceparent` (and `tracestate` when non-empty) for `context` into `carrier`.
    public static func inject<Carrier, Inject: Injector>(
        _ context: SpanContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        injector.inject(traceParent(for: context), forKey: traceParentHeader, into: &carrier)
        if !context.traceState.isEmpty {
            injector.inject(context.traceState, forKey: traceStateHeader, into: &carrier)
        }
    }

    /// Reads the parent from `traceparent`/`tracestate`; `nil` when absent or malformed.
    /// A malformed `tracestate` alone is dropped, keeping the parent, as the spec allows.
    public static func extract<Carrier, Extract: Extractor>(
        from carrier: Carrier, using extractor: Extract
    ) -> SpanContext? where Extract.Carrier == Carrier {
        guard let traceParent = extractor.extract(key: traceParentHeader, from: carrier) else { return nil }
        return spanContext(traceParent: traceParent, traceState: extractor.extract(key: traceStateHeader, from: carrier))
    }

    /// Parses header values into a remote `SpanContext`; `nil` if `traceparent` is invalid.
    public static func spanContext(traceParent: String, traceState: String?) -> SpanContext? {
        let trimmed = String(traceParent.trimmingASCIISpaces())
        let parsed: TraceContext
        if let full = try? TraceContext(traceParentHeaderValue: trimmed, traceStateHeaderValue: traceState) {
            parsed = full
        } else if let parentOnly = try? TraceContext(traceParentHeaderValue: trimmed) {
            parsed = parentOnly
        } else {
            return nil
        }
        guard let traceID = PeriscopeModel.TraceID(hex: parsed.traceID.description),
              let spanID = PeriscopeModel.SpanID(hex: parsed.spanID.description)
        else { return nil }
        return SpanContext(
            traceID: traceID, spanID: spanID, isSampled: parsed.flags.contains(.sampled),
            traceState: parsed.traceStateHeaderValue ?? "", isRemote: true)
    }

    /// The `traceparent` value for `context`, e.g. `00-<32 hex>-<16 hex>-01`.
    public static func traceParent(for context: SpanContext) -> String {
        let trace = context.traceID.bytes
        let span = context.spanID.bytes
        let w3c = TraceContext(
            traceID: W3CTraceContext.TraceID(bytes: (
                trace[0], trace[1], trace[2], trace[3], trace[4], trace[5], trace[6], trace[7],
                trace[8], trace[9], trace[10], trace[11], trace[12], trace[13], trace[14], trace[15])),
            spanID: W3CTraceContext.SpanID(bytes: (
                span[0], span[1], span[2], span[3], span[4], span[5], span[6], span[7])),
            flags: TraceFlags(rawValue: context.traceFlags),
            state: TraceState())
        return w3c.traceParentHeaderValue
    }
}

extension StringProtocol {
    fileprivate func trimmingASCIISpaces() -> SubSequence {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return self[endIndex...] }
        let end = lastIndex(where: { !isSpace($0) })!
        return self[start...end]
    }
}
