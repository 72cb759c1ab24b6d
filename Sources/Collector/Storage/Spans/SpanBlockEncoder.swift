import PeriscopeTelemetry

/// One span on its way into a block: the span and the index of its resource in the block.
struct BlockSpan {
    var resource: Int
    var span: Span
}

/// Writes the spans of one batch (one day's part of it) as a span block: spans grouped by
/// trace, every string once in a block-local table, each field in its own column (IDs fixed
/// width, times as deltas, names and attribute keys and values as string indices), so zstd
/// finds the repetition and a block of 2000 spans stores in a few tens of bytes per span.
/// `SpanBlock` reads it back.
struct SpanBlockEncoder {
    static let formatVersion: UInt8 = 1

    private var strings = StringTable()
    private var resources = ByteSink()
    private var traces = ByteSink()
    private var spanIDs = ByteSink()
    private var parents = ByteSink()
    private var remoteParents = ByteSink()
    private var resourceColumn = ByteSink()
    private var names = ByteSink()
    private var flags = ByteSink()
    private var starts = ByteSink()
    private var durations = ByteSink()
    private var attributeCounts = ByteSink()
    private var attributeKeys = ByteSink()
    private var attributeValues = ByteSink()
    private var details = ByteSink()
    private var previousStart: UInt64 = 0
    private(set) var resourceCount = 0
    private(set) var traceCount = 0
    private(set) var spanCount = 0

    /// Flag bits next to the kind (bits 0–2) and status code (bits 3–4).
    static let hasDetailsFlag: UInt8 = 1 << 5

    /// Adds a resource; spans refer to it by the returned index.
    mutating func addResource(_ resource: Resource) -> Int {
        resources.varint(strings.index(resource.serviceName))
        Self.attributes(resource.attributes, into: &resources, &strings)
        resourceCount += 1
        return resourceCount - 1
    }

    /// Adds one trace's spans, in the order given; returns the trace's ordinal in the block.
    @discardableResult
    mutating func addTrace(_ traceID: TraceID, _ spans: ArraySlice<BlockSpan>) -> Int {
        traces.traceID(traceID)
        traces.varint(spans.count)
        let first = spans.startIndex
        var localIndex: [UInt64: Int] = [:]
        if spans.count > 16 {
            localIndex.reserveCapacity(spans.count)
            for (offset, entry) in spans.enumerated() where localIndex[entry.span.spanID.value] == nil {
                localIndex[entry.span.spanID.value] = offset
            }
        }
        for entry in spans {
            let span = entry.span
            spanIDs.fixed64(span.spanID.value)
            if let parent = span.parentSpanID?.value {
                let local: Int? = spans.count > 16
                    ? localIndex[parent]
                    : spans.firstIndex { $0.span.spanID.value == parent }.map { $0 - first }
                if let local {
                    parents.varint(local + 2)
                } else {
                    parents.varint(1)
                    remoteParents.fixed64(parent)
                }
            } else {
                parents.varint(0)
            }
            resourceColumn.varint(entry.resource)
            names.varint(strings.index(span.name))
            let hasDetails = !span.status.message.isEmpty || !span.traceState.isEmpty || !span.events.isEmpty || !span.links.isEmpty
            flags.byte(UInt8(span.kind.rawValue) | UInt8(span.status.code.rawValue) << 3 | (hasDetails ? Self.hasDetailsFlag : 0))
            starts.signed(Int64(bitPattern: span.startTimeUnixNano &- previousStart))
            previousStart = span.startTimeUnixNano
            durations.signed(Int64(bitPattern: span.endTimeUnixNano &- span.startTimeUnixNano))
            attributeCounts.varint(span.attributes.count)
            for attribute in span.attributes {
                attributeKeys.varint(strings.index(attribute.key))
                Self.value(attribute.value, into: &attributeValues, &strings)
            }
            if hasDetails { spanDetails(span) }
        }
        traceCount += 1
        spanCount += spans.count
        return traceCount - 1
    }

    /// The block's bytes, uncompressed: a version byte, the counts, then each column with its length.
    func encoded() -> [UInt8] {
        var out = ByteSink()
        let columns = [strings.sink, resources, traces, spanIDs, parents, remoteParents, resourceColumn, names, flags,
                       starts, durations, attributeCounts, attributeKeys, attributeValues, details]
        out.bytes.reserveCapacity(columns.reduce(16) { $0 + $1.bytes.count + 5 })
        out.byte(Self.formatVersion)
        out.varint(strings.count)
        out.varint(resourceCount)
        out.varint(traceCount)
        out.varint(spanCount)
        for column in columns { out.lengthPrefixed(column.bytes) }
        return out.bytes
    }

    /// Every distinct string of the block once, in first-use order.
    private struct StringTable {
        private var indices: [String: Int] = [:]
        private(set) var sink = ByteSink()

        var count: Int { indices.count }

        mutating func index(_ text: String) -> Int {
            if let index = indices[text] { return index }
            let index = indices.count
            indices[text] = index
            sink.string(text)
            return index
        }
    }

    private mutating func spanDetails(_ span: Span) {
        details.varint(strings.index(span.status.message))
        details.varint(strings.index(span.traceState))
        details.varint(span.events.count)
        for event in span.events {
            details.signed(Int64(bitPattern: event.timeUnixNano &- span.startTimeUnixNano))
            details.varint(strings.index(event.name))
            Self.attributes(event.attributes, into: &details, &strings)
        }
        details.varint(span.links.count)
        for link in span.links {
            details.traceID(link.traceID)
            details.fixed64(link.spanID.value)
            details.varint(strings.index(link.traceState))
            Self.attributes(link.attributes, into: &details, &strings)
        }
    }

    private static func attributes(_ attributes: [Attribute], into sink: inout ByteSink, _ strings: inout StringTable) {
        sink.varint(attributes.count)
        for attribute in attributes {
            sink.varint(strings.index(attribute.key))
            value(attribute.value, into: &sink, &strings)
        }
    }

    /// Value tags; strings go to the string table.
    enum ValueTag: UInt8 {
        case empty = 0, string, boolFalse, boolTrue, int, double, bytes, array, keyValueList
    }

    private static func value(_ value: AttributeValue, into sink: inout ByteSink, _ strings: inout StringTable) {
        switch value {
        case .empty: sink.byte(ValueTag.empty.rawValue)
        case .string(let text):
            sink.byte(ValueTag.string.rawValue)
            sink.varint(strings.index(text))
        case .bool(let flag): sink.byte(flag ? ValueTag.boolTrue.rawValue : ValueTag.boolFalse.rawValue)
        case .int(let number):
            sink.byte(ValueTag.int.rawValue)
            sink.signed(number)
        case .double(let number):
            sink.byte(ValueTag.double.rawValue)
            sink.fixed64(number.bitPattern)
        case .bytes(let data):
            sink.byte(ValueTag.bytes.rawValue)
            sink.lengthPrefixed(data)
        case .array(let values):
            sink.byte(ValueTag.array.rawValue)
            sink.varint(values.count)
            for element in values { self.value(element, into: &sink, &strings) }
        case .keyValueList(let pairs):
            sink.byte(ValueTag.keyValueList.rawValue)
            attributes(pairs, into: &sink, &strings)
        }
    }
}
