import PeriscopeTelemetry

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
    func apply(to span: inout PeriscopeTelemetry.Span) -> Int {
        var changed = fit(&span.attributes)
        if span.events.count > maxEvents {
            changed += span.events.count - maxEvents
            span.events.removeSubrange(maxEvents...)
        }
        for index in span.events.indices { changed += fit(&span.events[index].attributes) }
        if span.links.count > maxLinks {
            changed += span.links.count - maxLinks
            span.links.removeSubrange(maxLinks...)
        }
        for index in span.links.indices { changed += fit(&span.links[index].attributes) }
        changed += fit(&span.name)
        changed += fit(&span.status.message)
        return changed
    }

    /// Makes `record` fit; returns how many attributes and values were cut or dropped.
    func apply(to record: inout LogRecord) -> Int {
        fit(&record.attributes) + fit(&record.body, depth: 0)
    }

    private func fit(_ attributes: inout [Attribute]) -> Int {
        var changed = 0
        if attributes.count > maxAttributes {
            changed += attributes.count - maxAttributes
            attributes.removeSubrange(maxAttributes...)
        }
        for index in attributes.indices where needsFitting(attributes[index].value, depth: 0) || attributes[index].key.utf8.count > maxValueBytes {
            changed += fit(&attributes[index].key)
            changed += fit(&attributes[index].value, depth: 0)
        }
        return changed
    }

    /// A quick look first: almost every value fits, and is then left untouched.
    private func needsFitting(_ value: AttributeValue, depth: Int) -> Bool {
        switch value {
        case .string(let text): return text.utf8.count > maxValueBytes
        case .bytes(let bytes): return bytes.count > maxValueBytes
        case .array(let values): return depth >= Self.maxDepth || values.count > maxAttributes || values.contains { needsFitting($0, depth: depth + 1) }
        case .keyValueList(let pairs): return depth >= Self.maxDepth || pairs.count > maxAttributes || pairs.contains { needsFitting($0.value, depth: depth + 1) }
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
        case .array(var values):
            guard depth < Self.maxDepth else {
                value = .empty
                return 1
            }
            var changed = 0
            if values.count > maxAttributes {
                changed += values.count - maxAttributes
                values.removeSubrange(maxAttributes...)
            }
            for index in values.indices { changed += fit(&values[index], depth: depth + 1) }
            if changed > 0 { value = .array(values) }
            return changed
        case .keyValueList(var pairs):
            guard depth < Self.maxDepth else {
                value = .empty
                return 1
            }
            var changed = 0
            if pairs.count > maxAttributes {
                changed += pairs.count - maxAttributes
                pairs.removeSubrange(maxAttributes...)
            }
            for index in pairs.indices {
                changed += fit(&pairs[index].key)
                changed += fit(&pairs[index].value, depth: depth + 1)
            }
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
