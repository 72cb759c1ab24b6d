import Instrumentation

/// Injects into a `[String: String]` header map, for transports whose header type the SDK does
/// not know: inject here, then copy the pairs onto the outgoing request.
public struct DictionaryInjector: Injector {
    /// A stateless injector.
    public init() {}

    /// Sets `carrier[key] = value`.
    public func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

/// Extracts from a `[String: String]` header map; keys are matched case-insensitively, as HTTP does.
public struct DictionaryExtractor: Extractor {
    /// A stateless extractor.
    public init() {}

    /// The value for `key`, ignoring case.
    public func extract(key: String, from carrier: [String: String]) -> String? {
        if let exact = carrier[key] { return exact }
        let lowered = key.lowercased()
        return carrier.first { $0.key.lowercased() == lowered }?.value
    }
}
