import PeriscopeModel

/// One trace search over one day's span blocks (`SpanBlockSource`), answered in pages so the
/// caller can release the connection between them: the traces with a span that passes every span filter, newest
/// first by that span's start (ties: higher trace ID first), exactly.
///
/// Candidates come from the most selective `SearchTerm` of the query in each block's
/// `TermTable`, visited in order of the latest start they could have (blocks by their latest
/// start, then the quantised bound of each candidate); each is verified on the decoded block.
/// A verified trace is answered once no unverified candidate could start later.
struct PartitionTraceSearch {
    private let indexedAttributes: Set<String>
    private var matcher: SpanMatcher
    private let query: TraceQuery
    private let end: UInt64
    private var term: UInt64?
    /// The next blocks to visit, newest first, and where the last page ended.
    private var blocks: [(id: Int64, bound: UInt64)] = []
    private var after: (maxStart: UInt64, id: Int64)?
    private var blocksExhausted = false
    private var candidates = MaxHeap<Candidate> { $0.bound < $1.bound }
    /// Verified traces not answered yet, by the latest start of a matching span.
    private var verified: [TraceID: UInt64] = [:]
    /// `verified` best first, as (start, trace): an entry whose start is no longer the trace's is stale and skipped.
    private var verifiedOrder = MaxHeap<(start: UInt64, traceID: TraceID)> { ($0.start, $0.traceID) < ($1.start, $1.traceID) }
    /// The latest start among `verified`.
    private var verifiedLatest: UInt64?
    private var answered = Set<TraceID>()
    /// Candidates queued and not yet verified, per block.
    private var queuedPerBlock: [Int64: Int] = [:]

    private static let blockPage = 32
    /// From this many waiting candidates on, a block is decoded whole rather than trace by trace.
    private static let wholeBlockCandidates = 4

    /// Work done so far (a candidate verified, a block's index read, a trace summarised by the
    /// caller), and how much may be: a search for something rare, or for a term no block has,
    /// answers with what it found rather than read every block of the day.
    private(set) var work = 0
    private let workBudget: Int
    /// The budget ran out while blocks or candidates were still to be looked at: this day may
    /// hold matches not answered.
    private(set) var stoppedByBudget = false

    init(query: TraceQuery, indexedAttributes: Set<String>, workBudget: Int) {
        self.indexedAttributes = indexedAttributes
        self.workBudget = workBudget
        self.query = query
        matcher = SpanMatcher(query)
        end = min(query.endUnixNano, UInt64(Int64.max))
    }

    /// The next at most `count` matching traces with the start of their latest matching span, in order; fewer when the partition has no more.
    mutating func next(_ count: Int, in source: some SpanBlockSource) throws -> [(traceID: TraceID, start: UInt64)] {
        var out = [(traceID: TraceID, start: UInt64)]()
        if term == nil { term = try chooseTerm(source) }
        while out.count < count {
            guard work < workBudget else {
                stoppedByBudget = !blocks.isEmpty || !blocksExhausted || candidates.top != nil
                answerVerified(above: nil, count: count, into: &out)
                break
            }
            if blocks.isEmpty, !blocksExhausted { try fetchBlocks(source) }
            let blockBound = blocks.first?.bound
            let candidateBound = candidates.top?.bound
            // Nothing unverified can start later than this.
            let threshold = [blockBound, candidateBound].compactMap { $0 }.max()
            if let latest = verifiedLatest, threshold.map({ latest > $0 }) ?? true {
                answerVerified(above: threshold, count: count, into: &out)
            }
            guard out.count < count, threshold != nil else { break }
            if let blockBound, candidateBound.map({ blockBound >= $0 }) ?? true {
                try load(blocks.removeFirst().id, source)
            } else if let candidate = candidates.pop() {
                try verify(candidate, source)
            }
        }
        return out
    }

    /// Moves the verified traces that start after `threshold` (all when nil) to `out`, best first.
    private mutating func answerVerified(above threshold: UInt64?, count: Int, into out: inout [(traceID: TraceID, start: UInt64)]) {
        while out.count < count, let best = bestVerified(), threshold.map({ best.start > $0 }) ?? true {
            _ = verifiedOrder.pop()
            verified[best.traceID] = nil
            answered.insert(best.traceID)
            out.append((best.traceID, best.start))
        }
        verifiedLatest = bestVerified()?.start
    }

    /// The best verified trace not answered yet (stale entries dropped on the way).
    private mutating func bestVerified() -> (start: UInt64, traceID: TraceID)? {
        while let top = verifiedOrder.top {
            if verified[top.traceID] == top.start { return top }
            _ = verifiedOrder.pop()
        }
        return nil
    }

    private mutating func fetchBlocks(_ source: some SpanBlockSource) throws {
        let page = try source.blockPage(from: query.startUnixNano, to: end, after: after, limit: Self.blockPage)
        for (id, maxStart) in page {
            blocks.append((id, min(maxStart, end)))
            after = (maxStart, id)
        }
        if page.count < Self.blockPage { blocksExhausted = true }
    }

    /// Queues the candidates of one block.
    private mutating func load(_ block: Int64, _ source: some SpanBlockSource) throws {
        guard let term else { return }
        work += 1
        // A minimum span duration (taken as signed, like the span filter) rules out traces whose
        // spans with the term are all shorter.
        let shortest = query.minSpanDurationNanos.flatMap { $0 <= UInt64(Int64.max) ? $0 : nil } ?? 0
        var queued = 0
        for entry in try source.terms(of: block).entries(term)
        where entry.latestStart >= query.startUnixNano && entry.earliestStart <= end && entry.longestDuration >= shortest {
            candidates.push(Candidate(bound: min(entry.latestStart, end), block: block, trace: entry.trace))
            queued += 1
        }
        if queued > 0 { queuedPerBlock[block, default: 0] += queued }
    }

    /// Counts work the caller did for this search (summaries of its answers).
    mutating func charge(_ units: Int) { work += units }

    private mutating func verify(_ candidate: Candidate, _ source: some SpanBlockSource) throws {
        work += 1
        // A block many candidates still wait for is decoded whole and cached; for one or two
        // (candidates scattered over many blocks, as a backfill leaves them) only their trace.
        let waiting = queuedPerBlock[candidate.block, default: 1]
        queuedPerBlock[candidate.block] = waiting > 1 ? waiting - 1 : nil
        let (block, ordinal) = waiting >= Self.wholeBlockCandidates
            ? (try source.block(candidate.block), candidate.trace)
            : try source.trace(candidate.trace, ofBlock: candidate.block)
        guard ordinal < block.traceCount else { throw DamagedStoredData(what: "span search index of block \(candidate.block)") }
        let traceID = block.traceIDs[ordinal]
        guard !answered.contains(traceID),
              let start = matcher.latestMatch(in: block, id: candidate.block, trace: ordinal) else { return }
        if let known = verified[traceID], known >= start { return }
        verified[traceID] = start
        verifiedOrder.push((start, traceID))
        verifiedLatest = max(verifiedLatest ?? 0, start)
    }

    /// The query's most selective term: each possible term's traces are counted in the newest
    /// blocks of the range, the fewest wins (ties: the more specific term).
    private mutating func chooseTerm(_ source: some SpanBlockSource) throws -> UInt64 {
        var options = [UInt64]()
        for attribute in query.attributes where indexedAttributes.contains(attribute.key) {
            options.append(SearchTerm.attribute(key: attribute.key, text: attribute.value.text))
        }
        if let service = query.service {
            if let operation = query.operation { options.append(SearchTerm.operation(service: service, name: operation)) }
            options.append(SearchTerm.service(service))
        }
        if query.status == .error { options.append(SearchTerm.error) }
        guard !options.isEmpty else { return SearchTerm.all }
        guard options.count > 1 else { return options[0] }
        try fetchBlocks(source)
        var counts = [Int](repeating: 0, count: options.count)
        for block in blocks.prefix(8) {
            work += 1
            let table = try source.terms(of: block.id)
            for (index, option) in options.enumerated() { counts[index] += try table.traceCount(option) }
        }
        return options[counts.indices.min { counts[$0] < counts[$1] } ?? 0]
    }
}

/// A trace of a block that carries the search term, with the latest start it could match at.
private struct Candidate {
    var bound: UInt64
    var block: Int64
    var trace: Int
}

/// A binary max-heap under `isLess`.
private struct MaxHeap<Element> {
    private var items: [Element] = []
    private let isLess: (Element, Element) -> Bool

    init(by isLess: @escaping (Element, Element) -> Bool) { self.isLess = isLess }

    var top: Element? { items.first }

    mutating func push(_ element: Element) {
        items.append(element)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard isLess(items[parent], items[child]) else { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var largest = parent
            if left < items.count, isLess(items[largest], items[left]) { largest = left }
            if right < items.count, isLess(items[largest], items[right]) { largest = right }
            guard largest != parent else { break }
            items.swapAt(parent, largest)
            parent = largest
        }
        return top
    }
}
