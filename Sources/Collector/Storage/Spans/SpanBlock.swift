import PeriscopeTelemetry

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
    /// Span `i`'s attributes are `attributeKeys/attributeValues[attributeBounds[i]..<attributeBounds[i + 1]]`.
    let attributeBounds: [Int]
    let attributeKeys: [Int32]
    let attributeValues: [AttributeValue]
    /// Status message, trace state, events and links of the few spans that have any.
    let details: [Int: SpanDetails]

    var traceCount: Int { traceIDs.count }
    var spanCount: Int { spanIDs.count }

    func spans(ofTrace trace: Int) -> Range<Int> { traceBounds[trace]..<traceBounds[trace + 1] }

    func service(_ span: Int) -> String { resources[Int(resourceOf[span])].service }

    func name(_ span: Int) -> String { strings[Int(nameOf[span])] }

    /// The string table index of `text`, if the block holds it.
    func stringIndex(_ text: String) -> Int32? { strings.firstIndex(of: text).map(Int32.init) }

    /// The trace's ordinal, if the block holds spans of it.
    func ordinal(of traceID: TraceID) -> Int? { traceIDs.firstIndex(of: traceID) }

    /// Span `i` as the query API returns it.
    func apiSpan(_ span: Int, traceID: TraceID) -> QueryAPI.Span {
        let detail = details[span]
        var attributes = [String: AttributeValue](minimumCapacity: attributeBounds[span + 1] - attributeBounds[span])
        for index in attributeBounds[span]..<attributeBounds[span + 1] {
            let key = strings[Int(attributeKeys[index])]
            if attributes[key] == nil { attributes[key] = attributeValues[index] }
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

    /// Decodes a block's uncompressed bytes.
    init(decoding bytes: UnsafeRawBufferPointer) throws(DamagedStoredData) {
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
        var traceIDs = [TraceID]()
        traceIDs.reserveCapacity(traceCount)
        var traceBounds = [0]
        traceBounds.reserveCapacity(traceCount + 1)
        for _ in 0..<traceCount {
            traceIDs.append(try traceColumn.traceID())
            traceBounds.append(traceBounds[traceBounds.count - 1] + (try traceColumn.int(atMost: spanCount)))
        }
        guard traceBounds.last == spanCount else { throw header.damaged }

        var idColumn = try column()
        var spanIDs = [UInt64]()
        spanIDs.reserveCapacity(spanCount)
        for _ in 0..<spanCount { spanIDs.append(try idColumn.fixed64()) }

        var parentColumn = try column()
        var remoteColumn = try column()
        var parentIDs = [UInt64](repeating: 0, count: spanCount)
        for trace in 0..<traceCount {
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
        resourceOf.reserveCapacity(spanCount)
        nameOf.reserveCapacity(spanCount)
        kinds.reserveCapacity(spanCount)
        statusCodes.reserveCapacity(spanCount)
        starts.reserveCapacity(spanCount)
        ends.reserveCapacity(spanCount)
        var previousStart: UInt64 = 0
        for span in 0..<spanCount {
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
        var attributeBounds = [0]
        attributeBounds.reserveCapacity(spanCount + 1)
        var attributeKeys = [Int32](), attributeValues = [AttributeValue]()
        for _ in 0..<spanCount {
            let count = try countColumn.int(atMost: keyColumn.buffer.count)
            for _ in 0..<count {
                attributeKeys.append(try reader.stringIndex(&keyColumn))
                attributeValues.append(try reader.value(&valueColumn, depth: 0))
            }
            attributeBounds.append(attributeKeys.count)
        }

        var detailColumn = try column()
        var details = [Int: SpanDetails]()
        for span in withDetails {
            var detail = SpanDetails()
            detail.statusMessage = try reader.string(&detailColumn)
            detail.traceState = try reader.string(&detailColumn)
            for _ in 0..<(try detailColumn.count()) {
                let time = starts[span] &+ UInt64(bitPattern: try detailColumn.signed())
                let name = try reader.string(&detailColumn)
                detail.events.append(Span.Event(timeUnixNano: time, name: name, attributes: try reader.attributes(&detailColumn)))
            }
            for _ in 0..<(try detailColumn.count()) {
                let traceID = try detailColumn.traceID()
                let spanID = SpanID(try detailColumn.fixed64())
                let state = try reader.string(&detailColumn)
                detail.links.append(Span.Link(traceID: traceID, spanID: spanID, traceState: state,
                                              attributes: try reader.attributes(&detailColumn)))
            }
            details[span] = detail
        }

        self.strings = strings
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
        self.attributeValues = attributeValues
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
