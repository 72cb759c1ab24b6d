
/// A trace search's span filters, checked on the spans of a decoded block: service, operation,
/// kind, status, span duration bounds, attribute `key=value` pairs (all on one span, compared
/// by text) and the time range. The strings are resolved to each block's indices once.
struct SpanMatcher {
    let query: TraceQuery
    private var resolved: [Int64: Resolved] = [:]

    private struct Resolved {
        /// Per resource of the block: whether its service is the wanted one.
        var services: [Bool]?
        /// The operation's string index.
        var name: Int32?
        /// Each wanted attribute's key index (the block holds them all, or `impossible` is set) and
        /// value text's index (nil when no string value of the block has that text).
        var keys: [Int32]
        var values: [Int32?]
        var impossible: Bool
    }

    init(_ query: TraceQuery) {
        self.query = query
    }

    private mutating func resolve(_ block: SpanBlock, id: Int64) -> Resolved {
        if let known = resolved[id] { return known }
        var entry = Resolved(services: nil, name: nil, keys: [], values: [], impossible: false)
        if let service = query.service {
            let services = block.resources.map { $0.service == service }
            entry.services = services
            if !services.contains(true) { entry.impossible = true }
        }
        if let operation = query.operation {
            entry.name = block.stringIndex(operation)
            if entry.name == nil { entry.impossible = true }
        }
        let keys = query.attributes.map { block.stringIndex($0.key) }
        if keys.contains(nil) { entry.impossible = true }
        entry.keys = keys.map { $0 ?? -1 }
        entry.values = query.attributes.map { block.stringIndex($0.value.text) }
        if resolved.count > 256 { resolved.removeAll() }
        resolved[id] = entry
        return entry
    }

    /// The latest start of a span of trace `trace` in block `id` that passes every filter, or nil.
    mutating func latestMatch(in block: SpanBlock, id: Int64, trace: Int) -> UInt64? {
        let filters = resolve(block, id: id)
        guard !filters.impossible else { return nil }
        let end = min(query.endUnixNano, UInt64(Int64.max))
        var best: UInt64?
        spans: for span in block.spans(ofTrace: trace) {
            let start = block.starts[span]
            guard start >= query.startUnixNano, start <= end else { continue }
            if let best, start <= best { continue }
            if let services = filters.services, !services[Int(block.resourceOf[span])] { continue }
            if let name = filters.name, block.nameOf[span] != name { continue }
            if let kind = query.kind, Int(block.kinds[span]) != kind.rawValue { continue }
            // status=error asks for failed spans (a server span's HTTP 5xx too); ok and unset for the span's own status.
            if let status = query.status, status == .error ? !block.isFailed(span) : Int(block.statusCodes[span]) != status.rawValue { continue }
            // Signed, as the duration filters have always compared end - start.
            let duration = Int64(bitPattern: block.ends[span] &- start)
            if let minimum = query.minSpanDurationNanos, duration < Int64(bitPattern: minimum) { continue }
            if let maximum = query.maxSpanDurationNanos, duration > Int64(bitPattern: maximum) { continue }
            for (position, key) in filters.keys.enumerated() {
                let wantedString = filters.values[position]
                var found = false
                for index in block.attributeBounds[span]..<block.attributeBounds[span + 1] where block.attributeKeys[index] == key {
                    // A string value matches by its index; other types by their text.
                    if let string = block.attributeStringIndex(index) {
                        found = string == wantedString
                    } else {
                        found = block.attributeValue(index).text == query.attributes[position].value.text
                    }
                    if found { break }
                }
                if !found { continue spans }
            }
            best = start
        }
        return best
    }
}
