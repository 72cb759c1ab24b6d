import Instrumentation
import PeriscopeModel
import ServiceContextModule

/// The correlation ID of a request: one string shared by every span and log record the
/// request causes, in every service it crosses (DESIGN §6), so `periscope logs --correlation`
/// can gather them.
///
/// It arrives in the `baggage` header as `correlation_id`, or — from clients that know nothing
/// of baggage — in `x-correlation-id` / `x-request-id`; a server that finds none generates one
/// (``CorrelationID/generate()``). Downstream calls carry it on in `baggage`.
public enum CorrelationID {
    /// The span and log attribute, and the baggage key: `correlation_id`.
    public static let attributeKey = "correlation_id"
    /// Request headers read when baggage carries no correlation ID, in order of preference.
    public static let headerNames = ["x-correlation-id", "x-request-id"]
    /// Longer IDs (from hostile or buggy clients) are ignored rather than stored.
    public static let maxLength = 128

    /// A fresh random (version 4) UUID in its lowercase text form.
    public static func generate() -> String {
        ProcessResource.randomUUID()
    }

    /// The correlation ID a request carries: baggage `correlation_id`, then `x-correlation-id`,
    /// then `x-request-id`; `nil` when none is present and valid.
    public static func extract<Carrier, Extract: Extractor>(
        from carrier: Carrier, baggage: Baggage?, using extractor: Extract
    ) -> String? where Extract.Carrier == Carrier {
        if let value = baggage?[attributeKey], isValid(value) { return value }
        for name in headerNames {
            if let value = extractor.extract(key: name, from: carrier), isValid(value) { return value }
        }
        return nil
    }

    /// Printable ASCII without separators, 1...`maxLength` bytes: safe in a header, a log line and an index.
    public static func isValid(_ value: String) -> Bool {
        let bytes = value.utf8
        return !bytes.isEmpty && bytes.count <= maxLength
            && bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: ";") }
    }
}

/// The `ServiceContext` key under which Periscope keeps the request's correlation ID.
public enum CorrelationIDKey: ServiceContextKey {
    /// The stored value.
    public typealias Value = String
    /// The name shown when a context is printed.
    public static var nameOverride: String? { "periscope-correlation-id" }
}

extension ServiceContext {
    /// The request's correlation ID. Spans started in this context and log records written in it
    /// carry it as `correlation_id`; the tracer's `inject` sends it downstream in `baggage`.
    public var correlationID: String? {
        get { self[CorrelationIDKey.self] }
        set { self[CorrelationIDKey.self] = newValue }
    }
}

extension [Attribute] {
    /// Adds `correlation_id` = `id` at its place in these key-sorted attributes, unless one is
    /// already there: a value the caller set explicitly wins over the request's.
    mutating func stampCorrelationID(_ id: String) {
        guard !contains(where: { $0.key == CorrelationID.attributeKey }) else { return }
        let index = firstIndex { $0.key > CorrelationID.attributeKey } ?? endIndex
        insert(Attribute(CorrelationID.attributeKey, .string(id)), at: index)
    }
}
