import ArgumentParser
import Foundation
import PeriscopeQueryAPI

/// `periscope logs`: log lines by trace, correlation ID, service, level and text; `--follow`
/// streams new ones.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show log lines across services by trace, correlation ID, service, level or text; --follow streams.",
        discussion: """
            Prints the latest matching lines (--limit, default 1000 with --trace or \
            --correlation, else 100), oldest first. Each line: time (RFC 3339, UTC, \
            milliseconds), service, level, message, then the first 8 hex digits of the trace \
            ID and the span ID. With -v the record's attributes follow the message as \
            key=value and the trace ID is shown whole.

            Without --trace or --correlation the time range defaults to the last 24 hours.

            --follow keeps polling (every 500 ms) and prints lines as they arrive, until \
            Ctrl-C. With --json a plain query prints one document {"logs": [...]}; \
            --follow --json prints one log record per line (NDJSON).

            Examples:
              periscope logs --trace 4bf92f3577b34da6a3ce929d0e0e4736
              periscope logs --correlation req-42
              periscope logs --service checkout --level warn --since 1h
              periscope logs --grep 'card declined' --limit 20 -v
              periscope logs --service checkout --follow
              periscope logs --level error --follow --json | jq -r .body
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var range: RangeOptions

    @Option(name: .customLong("trace"), help: ArgumentHelp("Lines of this trace: 32 hex digits or a unique prefix of at least 8.", valueName: "ID"))
    var traceID: String?

    @Option(name: .customLong("correlation"), help: ArgumentHelp("Lines of this request (correlation ID, request ID).", valueName: "ID"))
    var correlationID: String?

    @Option(name: .customLong("service"), help: ArgumentHelp("Lines of this service.", valueName: "NAME"))
    var service: String?

    @Option(name: .customLong("level"), help: ArgumentHelp("Lines at this level or above: trace, debug, info, warn, error or fatal.", valueName: "LEVEL"), completion: .list(["trace", "debug", "info", "warn", "error", "fatal"]))
    var level: String?

    @Option(name: .customLong("grep"), help: ArgumentHelp("Lines whose message contains this text (case-sensitive).", valueName: "TEXT"))
    var grep: String?

    @Option(name: .customLong("limit"), help: ArgumentHelp("At most this many lines, the latest (1-10000).", valueName: "N"))
    var limit: Int?

    @Flag(name: .shortAndLong, help: "Follow: keep printing new lines as they arrive, until Ctrl-C.")
    var follow = false

    @Flag(name: .shortAndLong, help: "Also print each record's attributes and its whole trace ID.")
    var verbose = false

    static let levels = ["trace", "debug", "info", "warn", "error", "fatal"]
    /// How often `--follow` asks for new lines.
    static let pollInterval: Duration = .milliseconds(500)
    /// How often while the collector's read budget leaves nothing of a poll whole.
    static let stuckPollInterval: Duration = .seconds(30)
    /// Answers one poll reads at most (full or cut pages read on), each up to a read budget of the collector's work.
    static let pagesPerPoll = 8

    func validate() throws {
        try validateLimit(limit)
        if let level, !Self.levels.contains(level.lowercased()) && level.lowercased() != "warning" {
            throw ValidationError("--level must be one of \(Self.levels.joined(separator: ", ")); got '\(level)'")
        }
        if follow, range.until != nil { throw ValidationError("--follow streams until Ctrl-C: it cannot be combined with --until") }
    }

    var hasIDFilter: Bool { traceID != nil || correlationID != nil }

    /// The query these flags ask for (the trace ID filled in by the caller once resolved).
    func filter(nowUnixNano: UInt64 = TimeRange.nowUnixNano()) throws -> LogFilter {
        LogFilter(
            traceID: nil, correlationID: correlationID, service: service,
            level: level.map { $0.lowercased() == "warning" ? "warn" : $0.lowercased() }, contains: grep,
            range: try range.timeRange(defaultSince: hasIDFilter ? nil : "24h", nowUnixNano: nowUnixNano),
            limit: limit ?? (hasIDFilter ? 1000 : 100), newestFirst: true)
    }

    func run() async throws {
        let baseFilter: LogFilter
        let reference: TraceReference?
        do {
            baseFilter = try self.filter()
            reference = try traceID.map(TraceReference.parse)
        } catch {
            CommandRunner.fail((error as? QueryError)?.message ?? String(describing: error))
        }
        let verbose = self.verbose
        let follow = self.follow
        let emptyNote = "no log lines match" + (hasIDFilter || range.since != nil || range.until != nil ? "" : " in the last 24h")
        try await CommandRunner.run(global) { context in
            var filter = baseFilter
            if let reference { filter.traceID = try await reference.resolve(with: context.client) }
            // The latest lines, shown oldest first.
            var latest = try await context.client.logs(filter)
            latest.logs.reverse()
            if let note = LogsCutNote.text(latest, filter: filter) { CommandRunner.note(note) }
            let renderer = LogsRenderer(style: context.style, verbose: verbose)
            guard follow else {
                if context.settings.json { return try JSONOutput.string(latest) }
                if latest.logs.isEmpty { CommandRunner.note(emptyNote) }
                return renderer.render(latest)
            }
            var follower = LogFollower(filter: filter)
            // Everything after the bound of a cut first answer was looked at: polls start there at the earliest.
            let cutAt = latest.truncated ? latest.resumeUnixNano : nil
            try Self.emit(follower.begin(latest.logs, searchedAfter: cutAt, nowUnixNano: TimeRange.nowUnixNano()), json: context.settings.json, renderer: renderer)
            var failing = false
            var stuckNoted = false
            var interval = Self.pollInterval
            while true {
                try await Task.sleep(for: interval)
                interval = Self.pollInterval
                do {
                    var poll = follower.nextFilter()
                    var answer = try await context.client.logs(poll)
                    if failing { CommandRunner.note("the collector answers again") }
                    failing = false
                    // Answers read on within one poll; the rest waits for the next, which starts where
                    // these left off (the newest line printed, or the bound of a cut answer).
                    var pages = 1
                    while true {
                        try Self.emit(follower.accept(answer.logs), json: context.settings.json, renderer: renderer)
                        let from = poll.range.startUnixNano ?? 0
                        if answer.truncated, let resume = answer.resumeUnixNano, resume > from {
                            // Cut by the collector's read budget: every match before `resume` is in; read on from it.
                            follower.searched(before: resume, nowUnixNano: TimeRange.nowUnixNano())
                            poll = follower.nextFilter(after: resume)
                        } else if answer.logs.count >= LogFollower.pageLimit, let last = answer.logs.last.map(LogsRenderer.time(of:)), last > from {
                            // A full page: read on from its last time.
                            poll = follower.nextFilter(after: last)
                        } else {
                            if answer.truncated {
                                // Nothing of the poll could be searched whole: ask less often until it can.
                                if !stuckNoted {
                                    CommandRunner.note("the collector's read budget ran out before any part of the poll was searched whole: narrow the search (--service, --level); polling every \(Self.stuckPollInterval.components.seconds) s until it can")
                                    stuckNoted = true
                                }
                                interval = Self.stuckPollInterval
                            }
                            break
                        }
                        guard pages < Self.pagesPerPoll else { break }
                        pages += 1
                        answer = try await context.client.logs(poll)
                    }
                } catch let error as QueryError {
                    if !failing { CommandRunner.note("\(error.message) (still following; retrying)") }
                    failing = true
                }
            }
        }
    }

    private static func emit(_ records: [QueryAPI.Log], json: Bool, renderer: LogsRenderer) throws {
        guard !records.isEmpty else { return }
        let text = json
            ? try records.map { try JSONOutput.line($0) }.joined()
            : renderer.render(QueryAPI.Logs(logs: records))
        CommandRunner.write(text, to: FileHandle.standardOutput)
    }
}

/// What `logs --follow` has printed. Records reach the collector late — an agent batches for up
/// to a second, one catching up after an outage for longer — so each poll asks again for the
/// last `lateWindowNanos` before the newest time printed (or before where a poll cut by the
/// collector's read budget reached, if later) and lets through only the records not printed
/// yet: a record up to that much older still appears, in the order it arrived. A poll that
/// fills `pageLimit`, or is cut, is read on from its last time (its bound).
struct LogFollower: Sendable {
    /// How much older than the newest record printed a late record may be and still be shown.
    static let lateWindowNanos: UInt64 = 30_000_000_000
    static let pageLimit = 10_000
    /// Polls between two that ask for the whole window again (the others ask from the newest
    /// time printed): a late record shows within ten polls, and each poll does not fetch the window.
    static let windowEvery = 10

    var filter: LogFilter
    private(set) var newestUnixNano: UInt64?
    /// The time before which a poll cut by the collector's read budget looked at every record
    /// (or after which a cut first answer did): polls start there at the earliest, so a search
    /// for something rare moves on instead of asking the same records again.
    private(set) var searchedUnixNano: UInt64?
    /// The records printed within the window, by their JSON line (the same record comes back
    /// poll after poll; a record holding a NaN is not equal to itself, its JSON is): how many
    /// times it was printed (equal records are different lines, each printed once) and its time.
    private var printed: [String: (count: Int, time: UInt64)] = [:]
    private var oldestPrintedUnixNano = UInt64.max
    /// The newest time of the first lines shown (`begin`): older records were there to be shown
    /// then (only the latest were), so they are not late and are not printed afterwards.
    private var floorUnixNano: UInt64?

    init(filter: LogFilter) { self.filter = filter }

    /// The first lines shown (the latest, by the command's limit); returns them in time order.
    /// `searchedAfter`: the bound of a first answer cut by the collector's read budget, after
    /// which every record was looked at; records before it are not late, and are not printed.
    mutating func begin(_ latest: [QueryAPI.Log], searchedAfter bound: UInt64? = nil, nowUnixNano: UInt64 = .max) -> [QueryAPI.Log] {
        let shown = accept(latest)
        if let bound { searched(before: bound, nowUnixNano: nowUnixNano) }
        floorUnixNano = progressUnixNano
        return shown
    }

    /// Records a search cut at `bound` by the collector's read budget: what lies before it was
    /// looked at. Never past `now`: a bound in a fast clock's future (records are kept up to a
    /// day ahead) would hold back every line timed by a right one.
    mutating func searched(before bound: UInt64, nowUnixNano: UInt64 = .max) {
        searchedUnixNano = max(searchedUnixNano ?? 0, min(bound, nowUnixNano))
    }

    /// How far the polls have come: the newest time printed, or a cut poll's bound if later.
    private var progressUnixNano: UInt64? {
        guard let newest = newestUnixNano else { return searchedUnixNano }
        return max(newest, searchedUnixNano ?? 0)
    }

    /// Where the window starts: records older than this are not looked at again.
    var windowStartUnixNano: UInt64? {
        guard let progress = progressUnixNano else { return nil }
        let start = progress >= Self.lateWindowNanos ? progress - Self.lateWindowNanos : 0
        return max(start, floorUnixNano ?? 0)
    }

    private var polls = 0

    /// The next poll, oldest first: every `windowEvery`th from the window's start, the others from
    /// the newest time printed (or a cut poll's later bound), or (`after`, reading on a full or
    /// cut page) from that time.
    mutating func nextFilter(after pageEnd: UInt64? = nil) -> LogFilter {
        var next = filter
        next.newestFirst = false
        next.limit = Self.pageLimit
        var start = pageEnd
        if start == nil {
            polls += 1
            start = polls % Self.windowEvery == 0 ? windowStartUnixNano : progressUnixNano
        }
        if let start { next.range.startUnixNano = max(start, filter.range.startUnixNano ?? 0) }
        return next
    }

    /// The records of `batch` not printed yet, in time order; remembers them. A poll returns
    /// every stored record of each time it covers, so a record that comes back `n` times where
    /// `m < n` were printed has `n - m` equal lines still to show.
    mutating func accept(_ batch: [QueryAPI.Log]) -> [QueryAPI.Log] {
        let sorted = batch.enumerated().sorted {
            let a = LogsRenderer.time(of: $0.element), b = LogsRenderer.time(of: $1.element)
            return a != b ? a < b : $0.offset < $1.offset
        }.map(\.element)
        var fresh: [QueryAPI.Log] = []
        var inBatch: [String: Int] = [:]
        for record in sorted {
            let time = LogsRenderer.time(of: record)
            if let windowStart = windowStartUnixNano, time < windowStart { continue }
            let key = Self.key(of: record)
            let occurrence = inBatch[key, default: 0] + 1
            inBatch[key] = occurrence
            guard occurrence > printed[key]?.count ?? 0 else { continue }
            printed[key] = (occurrence, time)
            oldestPrintedUnixNano = min(oldestPrintedUnixNano, time)
            fresh.append(record)
            newestUnixNano = max(newestUnixNano ?? 0, time)
        }
        forgetBeforeWindow()
        return fresh
    }

    /// Drops what no later poll asks for again, so memory stays with the window.
    private mutating func forgetBeforeWindow() {
        guard let windowStart = windowStartUnixNano, oldestPrintedUnixNano < windowStart else { return }
        printed = printed.filter { $0.value.time >= windowStart }
        oldestPrintedUnixNano = printed.values.lazy.map(\.time).min() ?? .max
    }

    /// Records remembered (tests: memory stays with the window).
    var rememberedCount: Int { printed.count }

    /// What tells two records apart: their JSON (sorted keys), the form `--json` prints.
    private static func key(of record: QueryAPI.Log) -> String {
        (try? JSONOutput.line(record)) ?? String(reflecting: record)
    }
}
