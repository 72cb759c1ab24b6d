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
    /// `segments(of:)` for many traces (those this day has none of are left out); a store with
    /// round trips answers them together.
    func segments(of traceIDs: [TraceID]) throws -> [TraceID: [TraceSegment]]
    /// The blocks with a span starting in `start...end`.
    func blocks(from start: UInt64, to end: UInt64) throws -> [Int64]
}

extension SpanBlockSource {
    func segments(of traceIDs: [TraceID]) throws -> [TraceID: [TraceSegment]] {
        var out = [TraceID: [TraceSegment]]()
        for traceID in traceIDs { out[traceID] = try segments(of: traceID) }
        return out
    }

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
    /// parent (in the same day) belongs to another service is one call. Blocks are read newest
    /// first, within `calls`'s budget (see `CallCountBudget`); the children already read when it
    /// runs out are still matched with their parents, up to the budget's hard limit.
    func countCalls(from start: UInt64, to end: UInt64, into calls: inout ServiceCalls) throws {
        let last = min(end, UInt64(Int64.max))
        var pending = PendingCalls()
        for id in try blocks(from: start, to: last).sorted(by: >) {
            guard !calls.exhausted else {
                calls.truncated = true
                break
            }
            let block = try block(id)
            calls.read(block)
            for trace in 0..<block.traceCount {
                let spans = block.spans(ofTrace: trace)
                let parents = SpanLookup(block, spans)
                for span in spans where block.parentIDs[span] != 0 && block.starts[span] >= start && block.starts[span] <= last {
                    let error = block.isFailed(span)
                    if let parent = parents.index(of: block.parentIDs[span]) {
                        calls.count(caller: block.service(parent), callee: block.service(span), error: error)
                    } else {
                        pending.add(block.traceIDs[trace], parent: block.parentIDs[span], callee: block.service(span), error: error)
                        if pending.count >= calls.budget.pendingChildren { try resolve(&pending, into: &calls) }
                    }
                }
            }
        }
        try resolve(&pending, into: &calls)
    }

    /// Counts the children whose parent is in another block, and empties `pending`: each
    /// trace's index says which of its blocks may hold a wanted parent (the span IDs'
    /// fingerprints), and each such block is read once for all the traces that need it, those
    /// that serve the most children first. Lookups go on past the budget (the children were
    /// read) up to `CallCountBudget.hardLimit`; what that leaves unread stays uncounted.
    private func resolve(_ pending: inout PendingCalls, into calls: inout ServiceCalls) throws {
        defer { pending = PendingCalls() }
        var wanted = [TraceID: Set<UInt64>]()
        var needed = [Int64: [(ordinal: Int, traceID: TraceID)]]()
        var served = [Int64: Int]()
        let traces = Array(pending.byTrace.keys)
        for first in stride(from: 0, to: traces.count, by: 1_000) {
            guard calls.work < calls.budget.hardLimit else {
                calls.truncated = true
                break
            }
            let chunk = Array(traces[first..<min(first + 1_000, traces.count)])
            let indexed = try segments(of: chunk)
            for traceID in chunk {
                let children = pending.byTrace[traceID] ?? []
                let parents = Set(children.map(\.parent))
                wanted[traceID] = parents
                guard let segments = indexed[traceID] else {
                    calls.lookedUp(segments: 0)
                    continue
                }
                calls.lookedUp(segments: segments.count)
                let fingerprints = Set(parents.map(TraceSegment.fingerprint))
                for segment in segments where segment.fingerprints.isEmpty || segment.fingerprints.contains(where: fingerprints.contains) {
                    needed[segment.block, default: []].append((segment.ordinal, traceID))
                    served[segment.block, default: 0] += children.count
                }
            }
        }
        var callers = [TraceID: [UInt64: String]]()
        for (id, entries) in needed.sorted(by: { (served[$0.key] ?? 0, $0.key) > (served[$1.key] ?? 0, $1.key) }) {
            guard calls.work < calls.budget.hardLimit else {
                calls.truncated = true
                break
            }
            let block = try block(id)
            calls.read(block)
            for (ordinal, traceID) in entries {
                guard ordinal < block.traceCount, block.traceIDs[ordinal] == traceID, let parents = wanted[traceID] else {
                    throw DamagedStoredData(what: "trace index of \(traceID.hex)")
                }
                for span in block.spans(ofTrace: ordinal) where parents.contains(block.spanIDs[span]) && callers[traceID]?[block.spanIDs[span]] == nil {
                    callers[traceID, default: [:]][block.spanIDs[span]] = block.service(span)
                }
            }
        }
        for (traceID, children) in pending.byTrace {
            for child in children {
                if let caller = callers[traceID]?[child.parent] { calls.count(caller: caller, callee: child.callee, error: child.error) }
            }
        }
    }
}

/// What one count of calls between services may do and hold. Without it a graph over a busy
/// day reads every span of it (minutes of a reader) and keeps every child whose parent is in
/// another block until the end (gigabytes).
struct CallCountBudget: Sendable {
    /// Work, in spans: a block read costs its spans but at least `blockCost` (a store of one-span
    /// blocks costs its fetches), a trace's index looked up `lookupCost` and its segments. Past
    /// it no further block of the range is read and the answer says so (`ServiceCalls.truncated`);
    /// the parents of the children already read are still looked up, up to `hardLimit`.
    var work: Int
    /// Children held while waiting for their parent; at this many their parents are looked up.
    var pendingChildren: Int

    static let blockCost = 64
    /// Per trace looked up, plus one per segment of its index.
    static let lookupCost = 16
    static let standard = CallCountBudget(work: 5_000_000, pendingChildren: 50_000)

    /// Where parent lookups stop too: a quarter past `work`.
    var hardLimit: Int { work > Int.max - work / 4 ? Int.max : work + work / 4 }
}

/// Calls between services, counted over the days of a time range (`countCalls`).
struct ServiceCalls {
    let budget: CallCountBudget
    private var edges = [String: QueryAPI.Dependency]()
    /// Spans of the blocks read, saturating.
    private(set) var spansRead = 0
    /// Work done against `budget.work`, saturating.
    private(set) var work = 0
    /// The budget ran out before the whole range was read: the edges count its newest blocks.
    var truncated = false

    init(budget: CallCountBudget = .standard) { self.budget = budget }

    var exhausted: Bool { work >= budget.work }

    mutating func read(_ block: SpanBlock) {
        spansRead.addSaturating(block.spanCount)
        work.addSaturating(max(block.spanCount, CallCountBudget.blockCost))
    }

    mutating func lookedUp(segments: Int) { work.addSaturating(CallCountBudget.lookupCost + segments) }

    mutating func count(caller: String, callee: String, error: Bool) {
        guard caller != callee else { return }
        let key = caller + "\u{0}" + callee
        edges[key, default: QueryAPI.Dependency(caller: caller, callee: callee, calls: 0, errors: 0)].calls += 1
        if error { edges[key]!.errors += 1 }
    }

    /// The edges by caller, then callee, with how much was read.
    var dependencies: QueryAPI.Dependencies {
        QueryAPI.Dependencies(
            edges: edges.values.sorted { ($0.caller, $0.callee) < ($1.caller, $1.callee) },
            spansRead: spansRead, truncated: truncated)
    }
}

/// Children whose parent was not in their own block, by trace.
private struct PendingCalls {
    private(set) var byTrace = [TraceID: [(parent: UInt64, callee: String, error: Bool)]]()
    private(set) var count = 0

    mutating func add(_ trace: TraceID, parent: UInt64, callee: String, error: Bool) {
        byTrace[trace, default: []].append((parent, callee, error))
        count += 1
    }
}

/// A span's index in its block by span ID, among one trace's spans: a scan for a few, a
/// table for many (a trace of n spans in one block would otherwise cost n² comparisons).
private struct SpanLookup {
    private let block: SpanBlock
    private let spans: Range<Int>
    private let table: [UInt64: Int]?

    init(_ block: SpanBlock, _ spans: Range<Int>) {
        self.block = block
        self.spans = spans
        guard spans.count > 16 else {
            self.table = nil
            return
        }
        var table = [UInt64: Int](minimumCapacity: spans.count)
        for span in spans where table[block.spanIDs[span]] == nil { table[block.spanIDs[span]] = span }
        self.table = table
    }

    func index(of spanID: UInt64) -> Int? {
        if let table { return table[spanID] }
        return spans.first { block.spanIDs[$0] == spanID }
    }
}

/// A trace's first `limit` spans by start time and how many it has, gathered over days in
/// memory within twice `limit` spans however large the trace; a span that sorts after the
/// `limit` kept at the last trim is counted without being built.
struct TraceGathering {
    let traceID: TraceID
    let limit: Int
    private(set) var spans = [QueryAPI.Span]()
    private(set) var total = 0
    /// The last span kept at the last trim: nothing after it can be among the first `limit`.
    private var cutoff: (start: UInt64, spanID: SpanID)?

    init(_ traceID: TraceID, limit: Int) {
        self.traceID = traceID
        self.limit = limit
    }

    private static func order(_ a: QueryAPI.Span, _ b: QueryAPI.Span) -> Bool {
        (a.startTimeUnixNano, a.spanID) < (b.startTimeUnixNano, b.spanID)
    }

    mutating func add(_ block: SpanBlock, _ span: Int) {
        total += 1
        if let cutoff, (block.starts[span], SpanID(block.spanIDs[span])) > cutoff { return }
        spans.append(block.apiSpan(span, traceID: traceID))
        if spans.count >= 2 * limit {
            spans.sort(by: Self.order)
            spans.removeSubrange(limit...)
            cutoff = spans.last.map { ($0.startTimeUnixNano, $0.spanID) }
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
/// than one per trace) and checked against the trace filters, within one work budget (`TraceQuery.workBudget`).
/// An answer cut short by the budget says so (`truncated`).
enum TraceSearch {
    static func run<Day>(
        _ query: TraceQuery, indexedAttributes: Set<String>, daysNewestFirst days: [Day], summaryGroup: Int = 1,
        page: (inout PartitionTraceSearch, Day, Int) throws -> [(traceID: TraceID, start: UInt64)],
        summaries: ([TraceID]) throws -> [TraceID: QueryAPI.TraceSummary]
    ) throws -> QueryAPI.TraceList {
        var found = [QueryAPI.TraceSummary]()
        var seen = Set<TraceID>()
        let traceFilters = query.minTraceDurationNanos != nil || query.maxTraceDurationNanos != nil
        var budget = query.workBudget
        for day in days {
            guard budget > 0 else { return QueryAPI.TraceList(traces: found, truncated: true) }
            var search = PartitionTraceSearch(query: query, indexedAttributes: indexedAttributes, workBudget: budget)
            defer { budget -= search.work }
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
                    search.charge(group.count)
                    for traceID in group {
                        guard let summary = summarised[traceID] else { continue }
                        if let minimum = query.minTraceDurationNanos, summary.durationNanos < minimum { continue }
                        if let maximum = query.maxTraceDurationNanos, summary.durationNanos > maximum { continue }
                        found.append(summary)
                        if found.count >= query.limit { return QueryAPI.TraceList(traces: found) }
                    }
                }
                if answers.count < wanted { break }
            }
            if search.stoppedByBudget { return QueryAPI.TraceList(traces: found, truncated: true) }
        }
        return QueryAPI.TraceList(traces: found)
    }
}
