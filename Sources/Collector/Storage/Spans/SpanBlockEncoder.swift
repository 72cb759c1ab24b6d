import PeriscopeModel

/// One span on its way into a block: the span and the index of its resource in the block.
struct BlockSpan {
    var resource: Int
    var span: Span
}

/// The spans one batch stored (for its rollup deltas): each span's resource indexes `services`.
struct StoredSpans {
    var services: [String] = []
    var spans: [BlockSpan] = []
}

/// Writes the spans of one batch (one day's part of it) as a span block: spans grouped by
/// trace, every string once in a block-local table, each field in its own column (IDs fixed
/// width, times as deltas, names and attribute keys and values as string indices), so zstd
/// finds the repetition and a block of 2000 spans stores in a few tens of bytes per span.
/// `SpanBlock` reads it back. The block's search terms (`TermTable`) are collected on the way,
/// from the same string indices.
struct SpanBlockEncoder {
    static let formatVersion: UInt8 = 1

    let indexedAttributes: Set<String>
    private var strings = StringTable()
    private var terms = TermTableBuilder()
    private var serviceNames: [String] = []
    private var serviceTerms: [UInt64] = []
    /// Cached terms: operations by (resource, name index), attributes by (key index, value index).
    private var operationTerms = IntegerMap<Int>()
    private var attributeTerms = IntegerMap<Int>()
    private var cachedTerms: [UInt64] = []
    private var operationKeys = IntegerMap<Int>()
    /// The block's distinct (service, span name, kind) triples, for the partition's operations list.
    private(set) var operations: [(service: String, name: String, kind: Int)] = []
    /// Per string index: whether it is an indexed attribute key (nil: not asked yet).
    private var indexedKeys: [Bool?] = []
    private(set) var minStart = UInt64.max
    private(set) var maxStart: UInt64 = 0
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

    init(indexedAttributes: Set<String>) {
        self.indexedAttributes = indexedAttributes
    }

    /// Adds a resource; spans refer to it by the returned index.
    mutating func addResource(_ resource: Resource) -> Int {
        let service = resource.serviceName
        serviceNames.append(service)
        serviceTerms.append(SearchTerm.service(service))
        resources.varint(strings.index(service))
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
        let ordinal = traceCount
        for entry in spans {
            let span = entry.span
            let start = span.startTimeUnixNano
            minStart = min(minStart, start)
            maxStart = max(maxStart, start)
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
            let name = strings.index(span.name)
            names.varint(name)
            let operation = UInt64(entry.resource) << 40 | UInt64(name) << 8 | UInt64(span.kind.rawValue)
            if operationKeys[operation] == nil {
                operationKeys.set(operation, operations.count)
                operations.append((serviceNames[entry.resource], span.name, span.kind.rawValue))
            }
            let hasDetails = !span.status.message.isEmpty || !span.traceState.isEmpty || !span.events.isEmpty || !span.links.isEmpty
            flags.byte(UInt8(span.kind.rawValue) | UInt8(span.status.code.rawValue) << 3 | (hasDetails ? Self.hasDetailsFlag : 0))
            starts.signed(Int64(bitPattern: start &- previousStart))
            previousStart = start
            durations.signed(Int64(bitPattern: span.endTimeUnixNano &- start))
            let duration = span.durationNanos
            terms.add(SearchTerm.all, trace: ordinal, start: start, duration: duration)
            terms.add(serviceTerms[entry.resource], trace: ordinal, start: start, duration: duration)
            terms.add(operationTerm(resource: entry.resource, name: name, span.name), trace: ordinal, start: start, duration: duration)
            if RequestClassification.isFailed(kind: span.kind, status: span.status.code, attributes: span.attributes) {
                terms.add(SearchTerm.error, trace: ordinal, start: start, duration: duration)
            }
            attributeCounts.varint(span.attributes.count)
            for attribute in span.attributes {
                let key = strings.index(attribute.key)
                attributeKeys.varint(key)
                let value = Self.value(attribute.value, into: &attributeValues, &strings)
                if isIndexed(key: key, attribute.key) {
                    terms.add(attributeTerm(key: key, value: value, attribute), trace: ordinal, start: start, duration: duration)
                }
            }
            if hasDetails { spanDetails(span) }
        }
        traceCount += 1
        spanCount += spans.count
        return traceCount - 1
    }

    /// The block's search terms, with start bounds quantised to its range (`TermTable`).
    func encodedTerms() -> [UInt8] { terms.encoded(minStart: minStart, maxStart: maxStart) }

    private mutating func operationTerm(resource: Int, name: Int, _ text: String) -> UInt64 {
        let key = UInt64(resource) << 32 | UInt64(name)
        if let cached = operationTerms[key] { return cachedTerms[cached] }
        let term = SearchTerm.operation(service: serviceNames[resource], name: text)
        operationTerms.set(key, cachedTerms.count)
        cachedTerms.append(term)
        return term
    }

    private mutating func isIndexed(key: Int, _ text: String) -> Bool {
        while indexedKeys.count <= key { indexedKeys.append(nil) }
        if let known = indexedKeys[key] { return known }
        let indexed = indexedAttributes.contains(text)
        indexedKeys[key] = indexed
        return indexed
    }

    /// `value` is the string index of a string value, or nil for other types (hashed by their text each time).
    private mutating func attributeTerm(key: Int, value: Int?, _ attribute: Attribute) -> UInt64 {
        guard let value else { return SearchTerm.attribute(key: attribute.key, text: attribute.value.text) }
        let packed = UInt64(key) << 32 | UInt64(value)
        if let cached = attributeTerms[packed] { return cachedTerms[cached] }
        let term = SearchTerm.attribute(key: attribute.key, text: attribute.value.text)
        attributeTerms.set(packed, cachedTerms.count)
        cachedTerms.append(term)
        return term
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

    /// Every distinct string of the block once, in first-use order, found by its FNV-1a hash.
    private struct StringTable {
        private var byHash = IntegerMap<Int>(capacity: 256)
        /// Strings whose hash another string has (astronomically rare, but possible).
        private var collisions: [String: Int] = [:]
        private var texts: [String] = []
        private(set) var sink = ByteSink()

        var count: Int { texts.count }

        mutating func index(_ text: String) -> Int {
            var hasher = FNV1a64(tag: 0)
            hasher.add(text)
            if let index = byHash[hasher.value] {
                if texts[index] == text { return index }
                if let index = collisions[text] { return index }
                collisions[text] = texts.count
            } else {
                byHash.set(hasher.value, texts.count)
            }
            texts.append(text)
            sink.string(text)
            return texts.count - 1
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

    /// Writes a tagged value; returns the string index of a string value.
    @discardableResult
    private static func value(_ value: AttributeValue, into sink: inout ByteSink, _ strings: inout StringTable) -> Int? {
        switch value {
        case .empty: sink.byte(ValueTag.empty.rawValue)
        case .string(let text):
            sink.byte(ValueTag.string.rawValue)
            let index = strings.index(text)
            sink.varint(index)
            return index
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
        return nil
    }
}
