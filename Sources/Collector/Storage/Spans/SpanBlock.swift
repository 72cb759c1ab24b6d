import PeriscopeModel
import PeriscopeQueryAPI

/// A decoded span block (`SpanBlockEncoder` wrote it): its spans as columns, trace by trace,
/// ready for trace reads, search verification and summaries without building `Span` values.
/// Immutable, so a cache can hand one to several queries.
final class SpanBlock: Sendable {
    struct BlockResource: Sendable {
        var service: String
        var attributes: [Attribute]
    }

    /// The parts of a span that are read back but never searched.
    struct SpanDetails: Sendable {
        var statusMessage = ""
        var traceState = ""
        var events: [Span.Event] = []
        var links: [Span.Link] = []
    }

    let strings: [String]
    let resources: [BlockResource]
    let traceIDs: [TraceID]
    /// Trace `t` holds spans `traceBounds[t]..<traceBounds[t + 1]`.
    let traceBounds: [Int]
    let spanIDs: [UInt64]
    /// The parent span ID, 0 for a root.
    let parentIDs: [UInt64]
    let resourceOf: [Int32]
    /// Index into `strings`.
    let nameOf: [Int32]
    let kinds: [UInt8]
    let statusCodes: [UInt8]
    let starts: [UInt64]
    let ends: [UInt64]
    /// Span `i`'s attributes are `attributeKeys/attributeValueOffsets[attributeBounds[i]..<attributeBounds[i + 1]]`.
    let attributeBounds: [Int]
    let attributeKeys: [Int32]
    /// Where each attribute's tagged value starts in `values`; values are decoded when read, so a
    /// block read for one trace does not build the values of all its spans.
    let attributeValueOffsets: [Int32]
    private let values: [UInt8]
    /// Status message, trace state, events and links of the few spans that have any.
    let details: [Int: SpanDetails]

    var traceCount: Int { traceIDs.count }
    var spanCount: Int { spanIDs.count }

    func spans(ofTrace trace: Int) -> Range<Int> { traceBounds[trace]..<traceBounds[trace + 1] }

    func service(_ span: Int) -> String { resources[Int(resourceOf[span])].service }

    func name(_ span: Int) -> String { strings[Int(nameOf[span])] }

    /// Whether span `span` failed (`SpanFailure`): its status is error, or it is a server span
    /// with an HTTP 5xx status. The status keys are compared as string-table indexes.
    func isFailed(_ span: Int) -> Bool {
        if statusCodes[span] == UInt8(Span.Status.Code.error.rawValue) { return true }
        guard kinds[span] == UInt8(Span.Kind.server.rawValue), statusKeys.current != nil || statusKeys.older != nil else { return false }
        var current: Int?
        var older: Int?
        for index in attributeBounds[span]..<attributeBounds[span + 1] {
            let key = attributeKeys[index]
            if key == statusKeys.current, current == nil { current = index } else if key == statusKeys.older, older == nil { older = index }
        }
        let status = current.flatMap { SpanFailure.status(attributeValue($0)) } ?? older.flatMap { SpanFailure.status(attributeValue($0)) }
        return SpanFailure.isFailed(isError: false, isServer: true, httpStatus: status)
    }

    /// The string-table indexes of `http.response.status_code` and the older `http.status_code`.
    private let statusKeys: (current: Int32?, older: Int32?)

    /// The string table index of `text`, if the block holds it.
    func stringIndex(_ text: String) -> Int32? { Self.index(of: text, in: strings) }

    private static func index(of text: String, in strings: [String]) -> Int32? { strings.firstIndex(of: text).map(Int32.init) }

    /// The trace's ordinal, if the block holds spans of it.
    func ordinal(of traceID: TraceID) -> Int? { traceIDs.firstIndex(of: traceID) }

    /// Attribute `index`'s value (the column was checked when the block was decoded).
    func attributeValue(_ index: Int) -> AttributeValue {
        values.withUnsafeBytes { buffer in
            var source = ByteSource(buffer, what: "span block")
            source.position = Int(attributeValueOffsets[index])
            return (try? BlockValueReader(strings: strings).value(&source, depth: 0)) ?? .empty
        }
    }

    /// The string table index of attribute `index`'s value when it is a string.
    func attributeStringIndex(_ index: Int) -> Int32? {
        let offset = Int(attributeValueOffsets[index])
        guard values[offset] == SpanBlockEncoder.ValueTag.string.rawValue else { return nil }
        return values.withUnsafeBytes { buffer in
            var source = ByteSource(buffer, what: "span block")
            source.position = offset + 1
            return (try? source.varint()).map { Int32(truncatingIfNeeded: $0) }
        }
    }

    /// Span `i` as the query API returns it.
    func apiSpan(_ span: Int, traceID: TraceID) -> QueryAPI.Span {
        let detail = details[span]
        var attributes = [String: AttributeValue](minimumCapacity: attributeBounds[span + 1] - attributeBounds[span])
        for index in attributeBounds[span]..<attributeBounds[span + 1] {
            let key = strings[Int(attributeKeys[index])]
            if attributes[key] == nil { attributes[key] = attributeValue(index) }
        }
        let code = Span.Status.Code(rawValue: Int(statusCodes[span])) ?? .unset
        return QueryAPI.Span(
            traceID: traceID, spanID: SpanID(spanIDs[span]),
            parentSpanID: parentIDs[span] == 0 ? nil : SpanID(parentIDs[span]),
            service: service(span), name: name(span),
            kind: (Span.Kind(rawValue: Int(kinds[span])) ?? .unspecified).name,
            startTimeUnixNano: starts[span], endTimeUnixNano: ends[span],
            status: QueryAPI.Status(code: code.name, message: detail?.statusMessage ?? ""),
            attributes: attributes, resource: resources[Int(resourceOf[span])].attributes.dictionary,
            events: detail?.events.map {
                QueryAPI.Event(timeUnixNano: $0.timeUnixNano, name: $0.name, attributes: $0.attributes.dictionary)
            } ?? [],
            links: detail?.links.map {
                QueryAPI.Link(traceID: $0.traceID, spanID: $0.spanID, attributes: $0.attributes.dictionary)
            } ?? [])
    }

    /// The block's spans as values, each with its resource's index in the services: what a
    /// rollup flush reads back from the blocks whose deltas it does not hold (after a start).
    func storedSpans() -> StoredSpans {
        var spans = [BlockSpan]()
        spans.reserveCapacity(spanCount)
        for trace in 0..<traceCount {
            for span in self.spans(ofTrace: trace) {
                let detail = details[span]
                let attributes = (attributeBounds[span]..<attributeBounds[span + 1]).map { Attribute(strings[Int(attributeKeys[$0])], attributeValue($0)) }
                let value = Span(
                    traceID: traceIDs[trace], spanID: SpanID(spanIDs[span]), parentSpanID: parentIDs[span] == 0 ? nil : SpanID(parentIDs[span]),
                    traceState: detail?.traceState ?? "", name: name(span), kind: Span.Kind(rawValue: Int(kinds[span])) ?? .unspecified,
                    startTimeUnixNano: starts[span], endTimeUnixNano: ends[span], attributes: attributes,
                    events: detail?.events ?? [], links: detail?.links ?? [],
                    status: Span.Status(code: Span.Status.Code(rawValue: Int(statusCodes[span])) ?? .unset, message: detail?.statusMessage ?? ""))
                spans.append(BlockSpan(resource: Int(resourceOf[span]), span: value))
            }
        }
        return StoredSpans(services: resources.map(\.service), spans: spans)
    }

    /// Decodes a block's uncompressed bytes: every trace, or only the traces `wanted` (by
    /// ordinal), which then become traces 0, 1, … of the decoded block — a trace read skips the
    /// other spans' columns instead of building them.
    init(decoding bytes: UnsafeRawBufferPointer, traces wanted: Range<Int>? = nil) throws(DamagedStoredData) {
        var header = ByteSource(bytes, what: "span block")
        guard try header.byte() == SpanBlockEncoder.formatVersion else { throw header.damaged }
        let stringCount = try header.count()
        let resourceCount = try header.count()
        let traceCount = try header.count()
        let spanCount = try header.count()
        func column() throws(DamagedStoredData) -> ByteSource {
            ByteSource(try header.lengthPrefixed(), what: "span block")
        }

        var stringColumn = try column()
        var strings = [String]()
        strings.reserveCapacity(stringCount)
        for _ in 0..<stringCount { strings.append(try stringColumn.string()) }
        let reader = BlockValueReader(strings: strings)

        var resourceColumn = try column()
        var resources = [BlockResource]()
        resources.reserveCapacity(resourceCount)
        for _ in 0..<resourceCount {
            let service = try reader.string(&resourceColumn)
            resources.append(BlockResource(service: service, attributes: try reader.attributes(&resourceColumn)))
        }

        var traceColumn = try column()
        var allTraceIDs = [TraceID]()
        allTraceIDs.reserveCapacity(traceCount)
        var allBounds = [0]
        allBounds.reserveCapacity(traceCount + 1)
        for _ in 0..<traceCount {
            allTraceIDs.append(try traceColumn.traceID())
            allBounds.append(allBounds[allBounds.count - 1] + (try traceColumn.int(atMost: spanCount)))
        }
        guard allBounds.last == spanCount else { throw header.damaged }
        let traceRange = wanted ?? 0..<traceCount
        guard traceRange.lowerBound >= 0, traceRange.upperBound <= traceCount else { throw header.damaged }
        // Spans `skipped..<skipped + kept` of the block are decoded, as spans 0..<kept.
        let skipped = allBounds[traceRange.lowerBound], kept = allBounds[traceRange.upperBound] - skipped
        let traceIDs = Array(allTraceIDs[traceRange])
        let traceBounds = allBounds[traceRange.lowerBound...traceRange.upperBound].map { $0 - skipped }

        var idColumn = try column()
        idColumn.position = skipped * 8
        var spanIDs = [UInt64]()
        spanIDs.reserveCapacity(kept)
        for _ in 0..<kept { spanIDs.append(try idColumn.fixed64()) }

        var parentColumn = try column()
        var remoteColumn = try column()
        for _ in 0..<skipped where try parentColumn.varint() == 1 { remoteColumn.position += 8 }
        var parentIDs = [UInt64](repeating: 0, count: kept)
        for trace in traceIDs.indices {
            let first = traceBounds[trace], end = traceBounds[trace + 1]
            for span in first..<end {
                switch try parentColumn.varint() {
                case 0: break
                case 1: parentIDs[span] = try remoteColumn.fixed64()
                case let local:
                    guard local - 2 < UInt64(end - first) else { throw header.damaged }
                    parentIDs[span] = spanIDs[first + Int(local - 2)]
                }
            }
        }

        var resourceOfColumn = try column()
        var nameColumn = try column()
        var flagColumn = try column()
        var startColumn = try column()
        var durationColumn = try column()
        var resourceOf = [Int32](), nameOf = [Int32](), kinds = [UInt8](), statusCodes = [UInt8]()
        var starts = [UInt64](), ends = [UInt64](), withDetails = [Int]()
        resourceOf.reserveCapacity(kept)
        nameOf.reserveCapacity(kept)
        kinds.reserveCapacity(kept)
        statusCodes.reserveCapacity(kept)
        starts.reserveCapacity(kept)
        ends.reserveCapacity(kept)
        var previousStart: UInt64 = 0
        var skippedDetails = 0
        for _ in 0..<skipped {
            _ = try resourceOfColumn.varint()
            _ = try nameColumn.varint()
            if try flagColumn.byte() & SpanBlockEncoder.hasDetailsFlag != 0 { skippedDetails += 1 }
            previousStart = previousStart &+ UInt64(bitPattern: try startColumn.signed())
            _ = try durationColumn.varint()
        }
        for span in 0..<kept {
            let resource = try resourceOfColumn.varint()
            guard resource < UInt64(resourceCount) else { throw header.damaged }
            resourceOf.append(Int32(resource))
            nameOf.append(try reader.stringIndex(&nameColumn))
            let flag = try flagColumn.byte()
            kinds.append(flag & 0x7)
            statusCodes.append(flag >> 3 & 0x3)
            if flag & SpanBlockEncoder.hasDetailsFlag != 0 { withDetails.append(span) }
            previousStart = previousStart &+ UInt64(bitPattern: try startColumn.signed())
            starts.append(previousStart)
            ends.append(previousStart &+ UInt64(bitPattern: try durationColumn.signed()))
        }

        var countColumn = try column()
        var keyColumn = try column()
        var valueColumn = try column()
        for _ in 0..<skipped {
            for _ in 0..<(try countColumn.int(atMost: keyColumn.buffer.count)) {
                _ = try keyColumn.varint()
                try reader.skipValue(&valueColumn, depth: 0)
            }
        }
        var attributeBounds = [0]
        attributeBounds.reserveCapacity(kept + 1)
        var attributeKeys = [Int32](), attributeValueOffsets = [Int32]()
        for _ in 0..<kept {
            let count = try countColumn.int(atMost: keyColumn.buffer.count)
            for _ in 0..<count {
                attributeKeys.append(try reader.stringIndex(&keyColumn))
                attributeValueOffsets.append(Int32(valueColumn.position))
                try reader.skipValue(&valueColumn, depth: 0)
            }
            attributeBounds.append(attributeKeys.count)
        }

        var detailColumn = try column()
        for _ in 0..<skippedDetails { _ = try reader.details(&detailColumn, start: 0) }
        var details = [Int: SpanDetails]()
        for span in withDetails { details[span] = try reader.details(&detailColumn, start: starts[span]) }

        self.strings = strings
        statusKeys = (Self.index(of: "http.response.status_code", in: strings), Self.index(of: "http.status_code", in: strings))
        self.resources = resources
        self.traceIDs = traceIDs
        self.traceBounds = traceBounds
        self.spanIDs = spanIDs
        self.parentIDs = parentIDs
        self.resourceOf = resourceOf
        self.nameOf = nameOf
        self.kinds = kinds
        self.statusCodes = statusCodes
        self.starts = starts
        self.ends = ends
        self.attributeBounds = attributeBounds
        self.attributeKeys = attributeKeys
        self.attributeValueOffsets = attributeValueOffsets
        values = Array(valueColumn.buffer)
        self.details = details
    }
}

/// Reads string-table references and tagged values of a block.
private struct BlockValueReader {
    let strings: [String]

    func stringIndex(_ source: inout ByteSource) throws(DamagedStoredData) -> Int32 {
        let index = try source.varint()
        guard index < UInt64(strings.count) else { throw source.damaged }
        return Int32(index)
    }

    func string(_ source: inout ByteSource) throws(DamagedStoredData) -> String {
        strings[Int(try stringIndex(&source))]
    }

    func attributes(_ source: inout ByteSource) throws(DamagedStoredData) -> [Attribute] {
        let count = try source.count()
        var out = [Attribute]()
        out.reserveCapacity(count)
        for _ in 0..<count {
            let key = try string(&source)
            out.append(Attribute(key, try value(&source, depth: 0)))
        }
        return out
    }

    /// One span's details; event times are stored relative to the span's `start`.
    func details(_ source: inout ByteSource, start: UInt64) throws(DamagedStoredData) -> SpanBlock.SpanDetails {
        var detail = SpanBlock.SpanDetails()
        detail.statusMessage = try string(&source)
        detail.traceState = try string(&source)
        for _ in 0..<(try source.count()) {
            let time = start &+ UInt64(bitPattern: try source.signed())
            let name = try string(&source)
            detail.events.append(Span.Event(timeUnixNano: time, name: name, attributes: try attributes(&source)))
        }
        for _ in 0..<(try source.count()) {
            let traceID = try source.traceID()
            let spanID = SpanID(try source.fixed64())
            let state = try string(&source)
            detail.links.append(Span.Link(traceID: traceID, spanID: spanID, traceState: state, attributes: try attributes(&source)))
        }
        return detail
    }

    /// Moves past a tagged value, checking it as `value` would.
    func skipValue(_ source: inout ByteSource, depth: Int) throws(DamagedStoredData) {
        guard depth < 64, let tag = SpanBlockEncoder.ValueTag(rawValue: try source.byte()) else { throw source.damaged }
        switch tag {
        case .empty, .boolFalse, .boolTrue: break
        case .string: _ = try stringIndex(&source)
        case .int: _ = try source.varint()
        case .double: _ = try source.fixed64()
        case .bytes: _ = try source.lengthPrefixed()
        case .array:
            for _ in 0..<(try source.count()) { try skipValue(&source, depth: depth + 1) }
        case .keyValueList:
            for _ in 0..<(try source.count()) {
                _ = try stringIndex(&source)
                try skipValue(&source, depth: depth + 1)
            }
        }
    }

    func value(_ source: inout ByteSource, depth: Int) throws(DamagedStoredData) -> AttributeValue {
        guard depth < 64, let tag = SpanBlockEncoder.ValueTag(rawValue: try source.byte()) else { throw source.damaged }
        switch tag {
        case .empty: return .empty
        case .string: return .string(try string(&source))
        case .boolFalse: return .bool(false)
        case .boolTrue: return .bool(true)
        case .int: return .int(try source.signed())
        case .double: return .double(Double(bitPattern: try source.fixed64()))
        case .bytes: return .bytes(Array(try source.lengthPrefixed()))
        case .array:
            let count = try source.count()
            var values = [AttributeValue]()
            for _ in 0..<count { values.append(try value(&source, depth: depth + 1)) }
            return .array(values)
        case .keyValueList:
            let count = try source.count()
            var pairs = [Attribute]()
            for _ in 0..<count {
                let key = try string(&source)
                pairs.append(Attribute(key, try value(&source, depth: depth + 1)))
            }
            return .keyValueList(pairs)
        }
    }
}
