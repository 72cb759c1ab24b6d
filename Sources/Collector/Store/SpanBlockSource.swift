import PeriscopeModel
import PeriscopeQueryAPI

/// One day's span blocks and their indexes, as searches, trace reads and dependency counts
/// see them, whichever backend stores them: each backend finds rows, and the code that reads
/// blocks (`PartitionTraceSearch`, `forEachSpan`, `countCalls`) is the same for all of them.
protocol SpanBlockSource {
    /// At most `limit` blocks with a span starting in `start...end`, by their latest start and
    /// then ID, both descending, each after `after` in that order.
    func blockPage(from start: UInt64, to end: UInt64, after: (maxStart: UInt64, id: Int64)?, limit: Int) throws
        -> [(id: Int64, maxStart: UInt64)]
    /// The search index of a block.
    func terms(of block: Int64) throws -> TermTable
    /// A whole decoded block (cached).
    func block(_ id: Int64) throws -> SpanBlock
    /// Trace `ordinal` of block `id`: the cached block, or only that trace decoded (as trace 0).
    func trace(_ ordinal: Int, ofBlock id: Int64) throws -> (block: SpanBlock, ordinal: Int)
    /// Where the trace's spans are in this day, in the order they were written; nil if it has none here.
    func segments(of traceID: TraceID) throws -> [TraceSegment]?
    /// The blocks with a span starting in `start...end`.
    func blocks(from start: UInt64, to end: UInt64) throws -> [Int64]
}

extension SpanBlockSource {
    /// Calls `body` with every stored span of the trace in this day (its block and index),
    /// block by block in the order they were written; false if the day has none of the trace.
    @discardableResult
    func forEachSpan(of traceID: TraceID, _ body: (SpanBlock, Int) throws -> Void) throws -> Bool {
        guard let segments = try segments(of: traceID) else { return false }
        for segment in segments {
            let (block, ordinal) = try trace(segment.ordinal, ofBlock: segment.block)
            guard ordinal < block.traceCount, block.traceIDs[ordinal] == traceID else {
                throw DamagedStoredData(what: "trace index of \(traceID.hex)")
            }
            for span in block.spans(ofTrace: ordinal) { try body(block, span) }
        }
        return true
    }

    /// The trace's summary over the spans this day holds of it; nil if it has none here.
    func summaryParts(of traceID: TraceID) throws -> TraceSummaryParts? {
        var parts = TraceSummaryParts()
        guard try forEachSpan(of: traceID, { parts.add($0, $1) }) else { return nil }
        return parts
    }

    /// Counts caller → callee calls among the spans starting in `start...end`: a span whose
    /// parent (in the same day) belongs to another service is one call.
    func countCalls(from start: UInt64, to end: UInt64, into calls: inout ServiceCalls) throws {
        let last = min(end, UInt64(Int64.max))
        // Children whose parent is in another block of the trace: (trace, parent) → callee and error flags.
        var pending = [TraceID: [(parent: UInt64, callee: String, error: Bool)]]()
        for id in try blocks(from: start, to: last) {
            let block = try block(id)
            for trace in 0..<block.traceCount {
                let spans = block.spans(ofTrace: trace)
                for span in spans where block.parentIDs[span] != 0 && block.starts[span] >= start && block.starts[span] <= last {
                    let error = block.isFailed(span)
                    if let parent = spans.first(where: { block.spanIDs[$0] == block.parentIDs[span] }) {
                        calls.count(caller: block.service(parent), callee: block.service(span), error: error)
                    } else {
                        pending[block.traceIDs[trace], default: []].append((block.parentIDs[span], block.service(span), error))
                    }
                }
            }
        }
        for (traceID, children) in pending {
            var services = [UInt64: String]()
            try forEachSpan(of: traceID) { block, span in
                if services[block.spanIDs[span]] == nil { services[block.spanIDs[span]] = block.service(span) }
            }
            for child in children {
                if let caller = services[child.parent] { calls.count(caller: caller, callee: child.callee, error: child.error) }
            }
        }
    }
}

/// Calls between services, counted over the days of a time range (`countCalls`).
struct ServiceCalls {
    private var edges = [String: QueryAPI.Dependency]()

    mutating func count(caller: String, callee: String, error: Bool) {
        guard caller != callee else { return }
        let key = caller + "\u{0}" + callee
        edges[key, default: QueryAPI.Dependency(caller: caller, callee: callee, calls: 0, errors: 0)].calls += 1
        if error { edges[key]!.errors += 1 }
    }

    /// By caller, then callee.
    var dependencies: [QueryAPI.Dependency] {
        edges.values.sorted { ($0.caller, $0.callee) < ($1.caller, $1.callee) }
    }
}

/// A trace's first `limit` spans by start time and how many it has, gathered over days in
/// memory within twice `limit` spans however large the trace.
struct TraceGathering {
    let traceID: TraceID
    let limit: Int
    private(set) var spans = [QueryAPI.Span]()
    private(set) var total = 0

    init(_ traceID: TraceID, limit: Int) {
        self.traceID = traceID
        self.limit = limit
    }

    private static func order(_ a: QueryAPI.Span, _ b: QueryAPI.Span) -> Bool {
        (a.startTimeUnixNano, a.spanID) < (b.startTimeUnixNano, b.spanID)
    }

    mutating func add(_ block: SpanBlock, _ span: Int) {
        total += 1
        spans.append(block.apiSpan(span, traceID: traceID))
        if spans.count >= 2 * limit {
            spans.sort(by: Self.order)
            spans.removeSubrange(limit...)
        }
    }

    /// The trace, or nil when no span was found.
    var trace: QueryAPI.Trace? {
        guard !spans.isEmpty else { return nil }
        var first = spans.sorted(by: Self.order)
        if first.count > limit { first.removeSubrange(limit...) }
        return QueryAPI.Trace(traceID: traceID, spans: first, totalSpans: total)
    }
}

/// A trace search over days, newest day first, as every store answers it: each day's matching
/// traces come from `PartitionTraceSearch` a page at a time (`page` runs one page on a day,
/// through whatever connection the store uses), the answers are summarised over every day
/// (`summaries`, given as many traces as are still wanted — with trace filters, which may turn
/// some away, at least `summaryGroup` — so a store with round trips makes one per group rather
/// than one per trace) and checked against the trace filters, within one verification budget.
enum TraceSearch {
    static func run<Day>(
        _ query: TraceQuery, indexedAttributes: Set<String>, daysNewestFirst days: [Day], summaryGroup: Int = 1,
        page: (inout PartitionTraceSearch, Day, Int) throws -> [(traceID: TraceID, start: UInt64)],
        summaries: ([TraceID]) throws -> [TraceID: QueryAPI.TraceSummary]
    ) throws -> [QueryAPI.TraceSummary] {
        var found = [QueryAPI.TraceSummary]()
        var seen = Set<TraceID>()
        let traceFilters = query.minTraceDurationNanos != nil || query.maxTraceDurationNanos != nil
        var budget = maxSearchVerifications
        for day in days where budget > 0 {
            var search = PartitionTraceSearch(query: query, indexedAttributes: indexedAttributes, verificationBudget: budget)
            defer { budget -= search.verifications }
            while found.count < query.limit {
                // With trace filters some answers fail them: ask for more at a time.
                let wanted = (query.limit - found.count) * (traceFilters ? 4 : 1)
                let answers = try page(&search, day, wanted)
                var fresh = answers.map(\.traceID).filter { seen.insert($0).inserted }[...]
                while !fresh.isEmpty {
                    // With trace filters, more than the number still wanted (some will fail them).
                    let group = fresh.prefix(max(1, query.limit - found.count, traceFilters ? summaryGroup : 0))
                    fresh = fresh.dropFirst(group.count)
                    let summarised = try summaries(Array(group))
                    for traceID in group {
                        guard let summary = summarised[traceID] else { continue }
                        if let minimum = query.minTraceDurationNanos, summary.durationNanos < minimum { continue }
                        if let maximum = query.maxTraceDurationNanos, summary.durationNanos > maximum { continue }
                        found.append(summary)
                        if found.count >= query.limit { return found }
                    }
                }
                if answers.count < wanted { break }
            }
        }
        return found
    }
}
