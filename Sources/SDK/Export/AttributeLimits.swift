import PeriscopeModel

/// OpenTelemetry's attribute limits
/// (https://opentelemetry.io/docs/specs/otel/common/#attribute-limits), applied to each span
/// and log record before it is queued: attributes past `maxAttributes` are dropped, string and
/// byte values longer than `maxValueBytes` are cut (on a character boundary), and events and
/// links past their counts are dropped — each counted. So one oversized item is made to fit
/// instead of the agent refusing its whole batch (the agent refuses values over 1 MiB and items
/// with over 1,024 attributes).
public struct AttributeLimits: Sendable, Hashable {
    /// Attributes per span, event, link or log record (`OTEL_ATTRIBUTE_COUNT_LIMIT`'s default).
    public var maxAttributes: Int
    /// Bytes of one string or bytes value, log bodies included.
    public var maxValueBytes: Int
    /// Events per span.
    public var maxEvents: Int
    /// Links per span.
    public var maxLinks: Int

    public init(maxAttributes: Int = 128, maxValueBytes: Int = 64 << 10, maxEvents: Int = 128, maxLinks: Int = 128) {
        self.maxAttributes = max(0, maxAttributes)
        self.maxValueBytes = max(0, maxValueBytes)
        self.maxEvents = max(0, maxEvents)
        self.maxLinks = max(0, maxLinks)
    }

    /// Most nesting kept inside one value (the agent refuses deeper than 16).
    static let maxDepth = 8

    /// Makes `span` fit; returns how many attributes, values, events and links were cut or dropped.
    func apply(to span: inout PeriscopeModel.Span) -> Int {
        var changed = fit(&span.attributes, depth: 0)
        changed += Self.keep(maxEvents, of: &span.events)
        for index in span.events.indices { changed += fit(&span.events[index].attributes, depth: 0) }
        changed += Self.keep(maxLinks, of: &span.links)
        for index in span.links.indices { changed += fit(&span.links[index].attributes, depth: 0) }
        changed += fit(&span.name)
        changed += fit(&span.status.message)
        return changed
    }

    /// Makes `record` fit; returns how many attributes and values were cut or dropped.
    func apply(to record: inout LogRecord) -> Int {
        fit(&record.attributes, depth: 0) + fit(&record.body, depth: 0)
    }

    /// Drops the elements past `limit`; returns how many.
    private static func keep<Element>(_ limit: Int, of elements: inout [Element]) -> Int {
        guard elements.count > limit else { return 0 }
        defer { elements.removeSubrange(limit...) }
        return elements.count - limit
    }

    /// Attributes of an item (`depth` 0) or of a key/value list value.
    private func fit(_ attributes: inout [Attribute], depth: Int) -> Int {
        var changed = Self.keep(maxAttributes, of: &attributes)
        for index in attributes.indices where needsFitting(attributes[index].value, depth: depth) || attributes[index].key.utf8.count > maxValueBytes {
            changed += fit(&attributes[index].key)
            changed += fit(&attributes[index].value, depth: depth)
        }
        return changed
    }

    /// A quick look first: almost every value fits, and is then left untouched.
    private func needsFitting(_ value: AttributeValue, depth: Int) -> Bool {
        switch value {
        case .string(let text): return text.utf8.count > maxValueBytes
        case .bytes(let bytes): return bytes.count > maxValueBytes
        case .array(let values): return depth >= Self.maxDepth || values.count > maxAttributes || values.contains { needsFitting($0, depth: depth + 1) }
        case .keyValueList(let pairs):
            return depth >= Self.maxDepth || pairs.count > maxAttributes
                || pairs.contains { $0.key.utf8.count > maxValueBytes || needsFitting($0.value, depth: depth + 1) }
        default: return false
        }
    }

    private func fit(_ value: inout AttributeValue, depth: Int) -> Int {
        switch value {
        case .string(var text):
            let changed = fit(&text)
            if changed > 0 { value = .string(text) }
            return changed
        case .bytes(let bytes) where bytes.count > maxValueBytes:
            value = .bytes(Array(bytes.prefix(maxValueBytes)))
            return 1
        case .array where depth >= Self.maxDepth, .keyValueList where depth >= Self.maxDepth:
            value = .empty
            return 1
        case .array(var values):
            var changed = Self.keep(maxAttributes, of: &values)
            for index in values.indices { changed += fit(&values[index], depth: depth + 1) }
            if changed > 0 { value = .array(values) }
            return changed
        case .keyValueList(var pairs):
            let changed = fit(&pairs, depth: depth + 1)
            if changed > 0 { value = .keyValueList(pairs) }
            return changed
        default:
            return 0
        }
    }

    /// Cuts a string to at most `maxValueBytes` bytes, never inside a character's encoding.
    private func fit(_ text: inout String) -> Int {
        guard text.utf8.count > maxValueBytes else { return 0 }
        var kept = String.UnicodeScalarView()
        var bytes = 0
        for scalar in text.unicodeScalars {
            let width = UTF8.width(scalar)
            guard bytes + width <= maxValueBytes else { break }
            kept.append(scalar)
            bytes += width
        }
        text = String(kept)
        return 1
    }
}
