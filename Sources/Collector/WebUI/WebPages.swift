import Foundation
import PeriscopeModel
import PeriscopeQueryAPI

/// The web UI's pages, rendered on the server from the query API's own answers: plain HTML
/// and SVG, one stylesheet, no script. Every value from telemetry or the request goes through
/// `HTML.text` or `HTML.query`.
struct WebPages: Sendable {
    /// The sections in the header's navigation.
    enum Section: String, CaseIterable, Sendable {
        case traces, logs, dependencies, signals, slos

        var title: String {
            switch self {
            case .traces: "Traces"
            case .logs: "Logs"
            case .dependencies: "Dependencies"
            case .signals: "Signals"
            case .slos: "SLOs"
            }
        }

        var path: String { self == .traces ? "/ui/" : "/ui/\(rawValue)" }
    }

    /// The ages a search form offers, as `since` values (`all`: no start).
    static let ages = ["15m", "1h", "6h", "24h", "7d", "all"]
    /// Whether the collector asks for a token (then pages offer to sign out).
    var authenticated: Bool
    /// Attributes, events, and attributes of an event a page shows of one span or log line.
    static let maxShownPerSpan = 64

    /// A form's values as the request gave them, shown again in its fields.
    struct Form: Sendable {
        var values: [String: String]

        init(_ pairs: [(name: String, value: String)]) {
            var values: [String: String] = [:]
            for pair in pairs where values[pair.name] == nil { values[pair.name] = pair.value }
            self.values = values
        }

        subscript(_ name: String) -> String { values[name] ?? "" }
    }

    // MARK: - Layout

    /// `refreshSeconds`: the browser loads the page again after that long (a followed log search).
    func page(_ title: String, section: Section?, refreshSeconds: Int? = nil, _ body: String) -> String {
        let navigation = Section.allCases.map { item in
            "<a href=\"\(item.path)\"\(item == section ? " class=\"current\"" : "")>\(item.title)</a>"
        }.joined()
        let signOut = authenticated
            ? "<form method=\"post\" action=\"/ui/logout\" class=\"signout\"><button type=\"submit\">Sign out</button></form>" : ""
        return """
            <!doctype html>
            <html lang="en">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.text(title)) · Periscope</title><link rel="stylesheet" href="/ui/style.css">\
            \(refreshSeconds.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? "")</head>
            <body><header><a class="brand" href="/ui/">Periscope</a><nav>\(navigation)</nav>\(signOut)</header>
            <main>
            \(body)
            </main></body></html>

            """
    }

    /// `next`: the page to go on to once signed in (checked again when the form comes back).
    func login(error: String?, next: String = "/ui/") -> String {
        page("Sign in", section: nil, """
            <h1>Sign in</h1>
            \(error.map { "<p class=\"error\" role=\"alert\">\(HTML.text($0))</p>" } ?? "")
            <form method="post" action="/ui/login" class="login">
            <input type="hidden" name="next" value="\(HTML.text(next))">
            <label>Token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
            <button type="submit">Sign in</button>
            </form>
            <p class="hint">A token the collector accepts (its <code>--token-file</code>): the one the CLI sends.</p>
            """)
    }

    func message(_ title: String, _ text: String) -> String {
        page(title, section: nil, "<h1>\(HTML.text(title))</h1><p class=\"error\" role=\"alert\">\(HTML.text(text))</p>")
    }

    // MARK: - Forms

    private func field(_ name: String, _ label: String, _ form: Form, placeholder: String = "", list: String? = nil) -> String {
        "<label>\(label) <input name=\"\(name)\" value=\"\(HTML.text(form[name]))\" placeholder=\"\(HTML.text(placeholder))\""
            + (list.map { " list=\"\($0)\"" } ?? "") + "></label>"
    }

    private func select(_ name: String, _ label: String, _ form: Form, options: [(value: String, label: String)], default fallback: String) -> String {
        let chosen = form[name].isEmpty ? fallback : form[name]
        let items = options.map { option in
            "<option value=\"\(HTML.text(option.value))\"\(option.value == chosen ? " selected" : "")>\(HTML.text(option.label))</option>"
        }.joined()
        return "<label>\(label) <select name=\"\(name)\">\(items)</select></label>"
    }

    /// `unset`: a first choice with no value, so the page's own default applies when it is kept.
    private func since(_ form: Form, default fallback: String, allowAll: Bool = true, unset: String? = nil) -> String {
        let ages = Self.ages.filter { allowAll || $0 != "all" }.map { ($0, $0 == "all" ? "all time" : $0) }
        return select("since", "Last", form, options: (unset.map { [("", $0)] } ?? []) + ages, default: fallback)
    }

    private func error(_ text: String?) -> String {
        text.map { "<p class=\"error\" role=\"alert\">\(HTML.text($0))</p>" } ?? ""
    }

    private func note(_ text: String) -> String {
        "<p class=\"note\">\(text)</p>"
    }

    // MARK: - Traces

    func traces(_ form: Form, services: [String], answer: QueryAPI.TraceList?, error: String?) -> String {
        let serviceList = "<datalist id=\"services\">"
            + services.map { "<option value=\"\(HTML.text($0))\">" }.joined() + "</datalist>"
        var body = """
            <h1>Traces</h1>
            <form method="get" action="/ui/" class="search">
            \(field("service", "Service", form, list: "services"))\(serviceList)
            \(field("operation", "Operation", form, placeholder: "GET /users/{id}"))
            \(field("attr", "Attribute", form, placeholder: "http.route=/checkout"))
            \(field("min_duration", "Slower than", form, placeholder: "250ms"))
            \(select("status", "Status", form, options: [("", "any"), ("error", "failed")], default: ""))
            \(since(form, default: "1h"))
            <button type="submit">Search</button>
            </form>
            \(self.error(error))
            """
        guard let answer else { return page("Traces", section: .traces, body) }
        if answer.traces.isEmpty {
            body += note("No traces match in this time range.")
        } else {
            body += Self.scatter(answer.traces)
            body += "<form method=\"get\" action=\"/ui/compare\" class=\"compare\">"
                + "<table class=\"results\"><thead><tr><th title=\"choose two to compare\">⇄</th><th>Start (UTC)</th><th>Root</th><th>Duration</th><th>Spans</th><th>Errors</th><th>Services</th><th>Trace</th></tr></thead><tbody>"
            for trace in answer.traces {
                let root = [trace.rootService, trace.rootName].compactMap { $0 }.map(HTML.text).joined(separator: ": ")
                body += "<tr\(trace.errorCount > 0 ? " class=\"failed\"" : "")>"
                    + "<td><input type=\"checkbox\" name=\"t\" value=\"\(trace.traceID.hex)\" aria-label=\"compare \(trace.traceID.hex)\"></td>"
                    + "<td class=\"time\">\(HTML.time(trace.startTimeUnixNano))</td>"
                    + "<td>\(root.isEmpty ? "<span class=\"dim\">(root not received)</span>" : root)</td>"
                    + "<td class=\"number\">\(HTML.duration(Double(trace.durationNanos)))</td><td class=\"number\">\(trace.spanCount)</td>"
                    + "<td class=\"number\">\(trace.errorCount)</td><td>\(trace.services.map(HTML.text).joined(separator: ", "))</td>"
                    + "<td><a class=\"trace-id\" href=\"/ui/traces/\(trace.traceID.hex)\">\(trace.traceID.hex)</a></td></tr>"
            }
            body += "</tbody></table><button type=\"submit\">Compare the two chosen</button></form>"
        }
        if answer.truncated {
            body += note("The collector's search budget ran out before every candidate was checked: more traces may match. Narrow the time range, or add an operation or an indexed attribute.")
        }
        return page("Traces", section: .traces, body)
    }

    // MARK: - One trace

    /// `find`: text to look for in the spans (service, name, status, attribute keys and values,
    /// event names, span ID), case-insensitive: matches are marked, the rest dimmed.
    func trace(_ trace: QueryAPI.Trace, logs: QueryAPI.Logs?, find: String = "") -> String {
        let start = trace.spans.map(\.startTimeUnixNano).min() ?? 0
        let end = trace.spans.map(\.endTimeUnixNano).max() ?? start
        let total = Double(max(end &- start, 1))
        let services = Set(trace.spans.map(\.service)).sorted()
        let failed = trace.spans.filter(\.isFailed).count
        var body = """
            <h1>Trace <span class="trace-id">\(trace.traceID.hex)</span></h1>
            <p class="summary">\(HTML.time(start)) · \(HTML.duration(total)) · \(trace.spans.count) spans · \(failed) failed · \
            \(services.map(HTML.text).joined(separator: ", ")) · <a href="/ui/logs?\(HTML.query([("trace_id", trace.traceID.hex)]))">its logs</a>\
            \(authenticated ? "" : " · <a href=\"/api/v1/traces/\(trace.traceID.hex)\">JSON</a>")</p>
            """
        if let totalSpans = trace.totalSpans, totalSpans > trace.spans.count {
            body += note("Showing the first \(trace.spans.count) of \(totalSpans) spans by start time; the critical path, where the time went "
                + "and the ┄ marks (a parent not among them) are of these spans only. "
                + "<code>periscope trace \(trace.traceID.hex) --json</code> or the query API has them all.")
        }
        let needle = String(find.prefix(Self.maxFindCharacters)).trimmingCharacters(in: .whitespaces).lowercased()
        body += "<form method=\"get\" action=\"/ui/traces/\(trace.traceID.hex)\" class=\"search find\">"
            + "<label>Find in spans <input name=\"find\" value=\"\(HTML.text(needle))\" placeholder=\"name, attribute, value or span ID\"></label>"
            + "<button type=\"submit\">Find</button></form>"
        var matched = 0
        // Log lines by the span that wrote them, shown in that span's details.
        var logsBySpan = [SpanID: [QueryAPI.Log]]()
        for log in logs?.logs ?? [] {
            if let spanID = log.spanID { logsBySpan[spanID, default: []].append(log) }
        }
        var waterfall = "<table class=\"waterfall\"><thead><tr><th>Span</th><th>Duration</th><th class=\"bars\">\(HTML.duration(0)) … \(HTML.duration(total))</th></tr></thead><tbody>"
        let critical = CriticalPath.spanIDs(in: trace.spans)
        for row in TraceTree(spans: trace.spans).rows {
            let span = row.span, depth = row.depth
            let onPath = critical.contains(span.spanID)
            let x = Double(span.startTimeUnixNano &- start) / total * 1_000
            let width = max(Double(span.durationNanos) / total * 1_000, 1)
            var details = "<table class=\"attributes\">"
                + "<tr><th>span</th><td>\(span.spanID.hex)\(span.parentSpanID.map { " (parent \($0.hex))" } ?? "")</td></tr>"
                + "<tr><th>kind</th><td>\(HTML.text(span.kind))</td></tr>"
                + "<tr><th>start</th><td>\(HTML.time(span.startTimeUnixNano))</td></tr>"
            if span.status.isError || !span.status.message.isEmpty {
                details += "<tr><th>status</th><td>\(HTML.text(span.status.code)) \(HTML.text(span.status.message))</td></tr>"
            }
            for (key, value) in span.attributes.sorted(by: { $0.key < $1.key }).prefix(Self.maxShownPerSpan) {
                details += "<tr><th>\(HTML.text(key))</th><td>\(HTML.text(value.text))</td></tr>"
            }
            if span.attributes.count > Self.maxShownPerSpan {
                details += "<tr><th>…</th><td>\(span.attributes.count - Self.maxShownPerSpan) more attributes (the query API has them all)</td></tr>"
            }
            if span.events.count > Self.maxShownPerSpan {
                details += "<tr><th>…</th><td>the first \(Self.maxShownPerSpan) of \(span.events.count) events</td></tr>"
            }
            for event in span.events.prefix(Self.maxShownPerSpan) {
                details += "<tr><th>event</th><td>\(HTML.time(event.timeUnixNano)) \(HTML.text(event.name))"
                    + event.attributes.sorted(by: { $0.key < $1.key }).prefix(Self.maxShownPerSpan).map { " \(HTML.text($0.key))=\(HTML.text($0.value.text))" }.joined() + "</td></tr>"
            }
            let spanLogs = logsBySpan[span.spanID] ?? []
            if !spanLogs.isEmpty {
                details += "<tr><th>logs</th><td>" + spanLogs.prefix(Self.maxShownPerSpan).map { log in
                    "\(HTML.time(log.timeUnixNano)) \(HTML.text(log.severityText.isEmpty ? Self.levelName(log.severityNumber) : log.severityText)) \(HTML.text(log.body.text))"
                }.joined(separator: "<br>") + (spanLogs.count > Self.maxShownPerSpan ? "<br>… \(spanLogs.count - Self.maxShownPerSpan) more below" : "") + "</td></tr>"
            }
            details += "</table>"
            var classes: [String] = span.isFailed ? ["failed"] : []
            if !needle.isEmpty {
                let isMatch = Self.span(span, matches: needle)
                if isMatch { matched += 1 }
                classes.append(isMatch ? "match" : "unmatched")
            }
            waterfall += "<tr\(classes.isEmpty ? "" : " class=\"\(classes.joined(separator: " "))\"")><td class=\"span\"><details class=\"depth-\(min(depth, WebStyle.maxDepth))\"><summary>"
                + (row.isOrphan ? "<span class=\"orphan\" title=\"its parent span is not in the trace\">┄</span> " : "")
                + "<span class=\"service\">\(HTML.text(span.service))</span> \(HTML.text(span.name))"
                + (spanLogs.isEmpty ? "" : " <span class=\"dim\">· \(spanLogs.count) log\(spanLogs.count == 1 ? "" : "s")</span>") + "</summary>\(details)</details></td>"
                + "<td class=\"number\">\(HTML.duration(Double(span.durationNanos)))</td>"
                + "<td class=\"bars\"><svg viewBox=\"0 0 1000 10\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"\(HTML.duration(Double(span.durationNanos)))\">"
                + "<rect x=\"\(String(format: "%.1f", min(x, 999)))\" y=\"0\" width=\"\(String(format: "%.1f", width))\" height=\"10\" class=\"bar\(span.isFailed ? " failed" : "")\(onPath ? " critical" : "")\"/></svg></td></tr>"
        }
        waterfall += "</tbody></table>"
        if !needle.isEmpty {
            body += note("\(matched) of \(trace.spans.count) spans match “\(HTML.text(needle))”.")
        }
        body += waterfall
        body += "<p class=\"hint\">Outlined bars are the critical path: from the root, each time the child that ended last, the span its parent waited for.</p>"
        body += statistics(TraceStatistics(trace))
        body += "<form method=\"get\" action=\"/ui/compare\" class=\"search compare-with\"><input type=\"hidden\" name=\"a\" value=\"\(trace.traceID.hex)\">"
            + "<label>Compare with trace <input name=\"b\" placeholder=\"32 hex digits\" required></label><button type=\"submit\">Compare</button></form>"
        if let logs {
            body += "<h2>Log lines</h2>" + logTable(logs.logs)
            if let cut = cutNote(logs, newestFirst: false, link: [("trace_id", trace.traceID.hex)]) { body += cut }
        }
        return page("Trace \(trace.traceID.hex)", section: .traces, body)
    }

    /// Characters of a trace page's `find` looked for.
    static let maxFindCharacters = 256

    /// Whether `needle` (lowercased) is in what the page shows of the span: its service, name,
    /// status message, a shown attribute's key or value, a shown event's name, or its span ID.
    /// Each text is looked at as far as the page shows it, so a find costs what the page does.
    static func span(_ span: QueryAPI.Span, matches needle: String) -> Bool {
        func has(_ text: String) -> Bool { HTML.clipped(text).lowercased().contains(needle) }
        if span.spanID.hex == needle || has(span.service) || has(span.name) || has(span.status.message) { return true }
        if span.attributes.sorted(by: { $0.key < $1.key }).prefix(maxShownPerSpan).contains(where: { has($0.key) || has($0.value.text) }) { return true }
        return span.events.prefix(maxShownPerSpan).contains { has($0.name) }
    }

    /// Where the trace's time went per service and operation (Jaeger's trace statistics), by
    /// self time, largest first: the time spans ran with none of their children running.
    private func statistics(_ statistics: TraceStatistics) -> String {
        var out = "<details class=\"statistics\"><summary>Where the time went: self time per service and operation</summary>"
            + "<table class=\"results\"><thead><tr><th>Service</th><th>Operation</th><th>Spans</th><th>Failed</th><th>Total</th>"
            + "<th>Average</th><th>Longest</th><th>Self time</th><th>Of the trace</th></tr></thead><tbody>"
        for row in statistics.rows.prefix(WebUIRoutes.maxPageLimit) {
            out += "<tr\(row.errors > 0 ? " class=\"failed\"" : "")><td>\(HTML.text(row.service))</td><td>\(HTML.text(row.operation))</td>"
                + "<td class=\"number\">\(row.spans)</td><td class=\"number\">\(row.errors)</td>"
                + "<td class=\"number\">\(HTML.duration(Double(row.totalNanos)))</td><td class=\"number\">\(HTML.duration(Double(row.averageNanos)))</td>"
                + "<td class=\"number\">\(HTML.duration(Double(row.maxNanos)))</td><td class=\"number\">\(HTML.duration(Double(row.selfNanos)))</td>"
                + "<td class=\"number\">\(statistics.durationNanos > 0 ? HTML.percent(Double(row.selfNanos) / Double(statistics.durationNanos)) : "–")</td></tr>"
        }
        out += "</tbody></table>"
        if statistics.rows.count > WebUIRoutes.maxPageLimit {
            out += note("Showing the \(WebUIRoutes.maxPageLimit) operations with the most self time of \(statistics.rows.count).")
        }
        return out + "</details>"
    }

    // MARK: - Logs

    /// `searchedFrom`: the start the search used (from `since`), which a link to the older lines keeps.
    func logs(_ form: Form, answer: QueryAPI.Logs?, searchedFrom: UInt64? = nil, searchedTo: UInt64? = nil, error: String?) -> String {
        let levels: [(String, String)] = [("", "any")] + ["debug", "info", "warn", "error", "fatal"].map { ($0, $0) }
        var body = """
            <h1>Logs</h1>
            <form method="get" action="/ui/logs" class="search">
            \(field("service", "Service", form))
            \(select("level", "Level", form, options: levels, default: ""))
            \(field("contains", "Text", form, placeholder: "card declined"))
            \(field("correlation_id", "Correlation ID", form, placeholder: "req-42"))
            \(field("trace_id", "Trace ID", form, placeholder: "32 hex digits"))
            \(since(form, default: "", unset: "1h, or all time by ID"))
            <label class="check"><input type="checkbox" name="follow" value="on"\(form["follow"] == "on" ? " checked" : "")> Follow</label>
            <button type="submit">Search</button>
            </form>
            \(self.error(error))
            """
        guard let answer else { return page("Logs", section: .logs, body) }
        let following = form["follow"] == "on"
        if following {
            body += "<p class=\"hint\">Following: the last hour at most, searched again every \(Self.followSeconds) s, newest lines first.</p>"
        }
        body += answer.logs.isEmpty ? note("No log lines match.") : logTable(answer.logs)
        let kept = ["service", "level", "contains", "correlation_id", "trace_id", "limit"].compactMap { name in
            form[name].isEmpty ? nil : (name, form[name])
        }
        let from = searchedFrom.map { ("start", String($0)) } ?? ("since", "all")
        if let cut = cutNote(answer, newestFirst: true, link: kept + [from], start: searchedFrom, end: searchedTo) { body += cut }
        return page("Logs", section: .logs, refreshSeconds: following ? Self.followSeconds : nil, body)
    }

    /// A log search by trace or correlation ID looks at every time unless told; others at the last hour.
    /// Seconds between the runs of a followed log search.
    static let followSeconds = 5

    static func logsDefaultSince(_ form: Form) -> String {
        form["trace_id"].isEmpty && form["correlation_id"].isEmpty ? "1h" : "all"
    }

    private func logTable(_ logs: [QueryAPI.Log]) -> String {
        guard !logs.isEmpty else { return note("No log lines.") }
        var out = "<table class=\"results logs\"><thead><tr><th>Time (UTC)</th><th>Service</th><th>Level</th><th>Message</th><th>Trace</th></tr></thead><tbody>"
        for log in logs {
            let level = log.severityText.isEmpty ? Self.levelName(log.severityNumber) : log.severityText
            let trace = log.traceID.map { "<a class=\"trace-id\" href=\"/ui/traces/\($0.hex)\">\(String($0.hex.prefix(8)))</a>" } ?? ""
            let attributes = log.attributes.sorted(by: { $0.key < $1.key }).prefix(Self.maxShownPerSpan)
                .map { "<span class=\"attribute\">\(HTML.text($0.key))=\(HTML.text($0.value.text))</span>" }.joined(separator: " ")
            out += "<tr class=\"level-\(Self.levelClass(log.severityNumber))\"><td>\(HTML.time(log.timeUnixNano))</td><td>\(HTML.text(log.service))</td>"
                + "<td>\(HTML.text(level))</td><td class=\"message\">\(HTML.text(log.body.text))\(attributes.isEmpty ? "" : "<br>" + attributes)</td><td>\(trace)</td></tr>"
        }
        return out + "</tbody></table>"
    }

    /// A note for an answer the collector's read budget cut, with a link that reads on.
    /// `start` and `end`: the range searched (nil: open). A bound at the range's own edge means
    /// nothing was searched whole: a link from there would ask the same again.
    private func cutNote(_ answer: QueryAPI.Logs, newestFirst: Bool, link: [(String, String)], start: UInt64? = nil, end: UInt64? = nil) -> String? {
        guard answer.truncated else { return nil }
        guard let resume = answer.readsOn(newestFirst: newestFirst, start: start, end: end) else {
            return note("The collector's read budget ran out before any part of the range was searched whole: narrow the search.")
        }
        // Newest first, the rest is before the bound, from the same start; oldest first, after it.
        let parameters = newestFirst
            ? link.filter { $0.0 != "end" } + [("end", String(resume))]
            : link.filter { $0.0 != "start" && $0.0 != "since" } + [("start", String(resume))]
        let more = newestFirst ? "older lines" : "later lines"
        return note("The collector's read budget ran out: the lines shown are every match \(newestFirst ? "after" : "before") \(HTML.time(resume)). "
            + "<a href=\"/ui/logs?\(HTML.query(parameters))\">Search the \(more)</a>.")
    }

    static func levelName(_ severity: Int) -> String {
        switch severity {
        case 1...4: "TRACE"
        case 5...8: "DEBUG"
        case 9...12: "INFO"
        case 13...16: "WARN"
        case 17...20: "ERROR"
        case 21...24: "FATAL"
        default: "-"
        }
    }

    static func levelClass(_ severity: Int) -> String {
        switch severity {
        case 13...16: "warn"
        case 17...: "error"
        default: "info"
        }
    }

    /// The traces found as dots, start time across and duration up (Jaeger's scatter plot), failed
    /// ones red; each dot links to its trace.
    static func scatter(_ traces: [QueryAPI.TraceSummary]) -> String {
        guard traces.count >= 2 else { return "" }
        let first = traces.map(\.startTimeUnixNano).min() ?? 0
        let last = traces.map(\.startTimeUnixNano).max() ?? 0
        let longest = Double(max(traces.map(\.durationNanos).max() ?? 1, 1))
        let width = Double(max(last &- first, 1))
        var out = "<svg class=\"scatter\" viewBox=\"0 0 1000 160\" role=\"img\" aria-label=\"\(traces.count) traces by start and duration, longest \(HTML.duration(longest))\">"
            + "<line class=\"axis\" x1=\"64\" y1=\"150\" x2=\"996\" y2=\"150\"/><line class=\"axis\" x1=\"64\" y1=\"10\" x2=\"64\" y2=\"150\"/>"
            + "<text class=\"axis\" x=\"58\" y=\"18\">\(HTML.duration(longest))</text><text class=\"axis\" x=\"58\" y=\"150\">0</text>"
        for trace in traces {
            let x = last == first ? 530 : 70 + Double(trace.startTimeUnixNano &- first) / width * 920
            let y = 150 - Double(trace.durationNanos) / longest * 135
            let root = [trace.rootService, trace.rootName].compactMap { $0 }.joined(separator: ": ")
            out += "<a href=\"/ui/traces/\(trace.traceID.hex)\"><title>\(HTML.text(root.isEmpty ? trace.traceID.hex : root)) · \(HTML.duration(Double(trace.durationNanos)))</title>"
                + "<circle class=\"\(trace.errorCount > 0 ? "trace failed" : "trace")\" cx=\"\(String(format: "%.1f", x))\" cy=\"\(String(format: "%.1f", y))\" r=\"4\"/></a>"
        }
        return out + "</svg>"
    }

    // MARK: - Compare

    /// Two traces call by call (the CLI's `compare`): each call path with its spans and total
    /// duration in both, what only one has, and how much slower or faster B is.
    func compare(_ comparison: TraceComparison, cutA: Bool, cutB: Bool) -> String {
        func side(_ label: String, _ side: TraceComparison.Side) -> String {
            "<p class=\"summary\"><strong>\(label)</strong> <a class=\"trace-id\" href=\"/ui/traces/\(side.traceID.hex)\">\(side.traceID.hex)</a> · "
                + "\(HTML.duration(Double(side.durationNanos))) · \(side.spanCount) spans</p>"
        }
        var body = "<h1>Compare traces</h1>" + side("A", comparison.a) + side("B", comparison.b)
            + "<p class=\"summary\">B against A: \(change(comparison.a.durationNanos, comparison.b.durationNanos, inA: true, inB: true))</p>"
        if cutA || cutB {
            body += note("Only the first \(WebUIRoutes.maxWaterfallSpans) spans of \(cutA && cutB ? "both traces" : cutA ? "A" : "B") are compared; "
                + "<code>periscope compare</code> compares them whole.")
        }
        body += "<table class=\"results compare\"><thead><tr><th>Call</th><th>A</th><th>B</th><th>Change</th></tr></thead><tbody>"
        for row in comparison.rows.prefix(WebUIRoutes.maxWaterfallSpans) {
            let mark = row.spansA == 0 ? " class=\"only-b\"" : row.spansB == 0 ? " class=\"only-a\"" : ""
            func cell(_ spans: Int, _ total: UInt64) -> String {
                spans == 0 ? "–" : (spans > 1 ? "\(spans) × " : "") + HTML.duration(Double(total))
            }
            body += "<tr\(mark)><td class=\"call depth-\(min(row.depth, WebStyle.maxDepth))\">\(HTML.text(row.call))</td>"
                + "<td class=\"number\">\(cell(row.spansA, row.totalNanosA))</td><td class=\"number\">\(cell(row.spansB, row.totalNanosB))</td>"
                + "<td class=\"number\">\(change(row.totalNanosA, row.totalNanosB, inA: row.spansA > 0, inB: row.spansB > 0))</td></tr>"
        }
        body += "</tbody></table>"
        if comparison.rows.count > WebUIRoutes.maxWaterfallSpans {
            body += note("Showing the first \(WebUIRoutes.maxWaterfallSpans) of \(comparison.rows.count) calls.")
        }
        return page("Compare traces", section: .traces, body)
    }

    /// B's total against A's: `+4.00ms (+40.0%)`, marked slower or faster past a tenth; `only in A` or `only in B`.
    private func change(_ a: UInt64, _ b: UInt64, inA: Bool, inB: Bool) -> String {
        guard inA else { return "only in B" }
        guard inB else { return "only in A" }
        let difference = b >= a ? "+" + HTML.duration(Double(b - a)) : "−" + HTML.duration(Double(a - b))
        guard a > 0 else { return b == 0 ? "same" : difference + " (new)" }
        let ratio = (Double(b) - Double(a)) / Double(a)
        let text = difference + " (" + (ratio >= 0 ? "+" : "") + HTML.percent(ratio) + ")"
        if ratio > 0.1 { return "<span class=\"slower\">\(text)</span>" }
        if ratio < -0.1 { return "<span class=\"faster\">\(text)</span>" }
        return text
    }

    /// The form for two trace IDs, with what was wrong.
    func compareForm(a: String, b: String, error: String?) -> String {
        page("Compare traces", section: .traces, """
            <h1>Compare traces</h1>
            <form method="get" action="/ui/compare" class="search">
            <label>Trace A <input name="a" value="\(HTML.text(a))" placeholder="32 hex digits" required></label>
            <label>Trace B <input name="b" value="\(HTML.text(b))" placeholder="32 hex digits" required></label>
            <button type="submit">Compare</button>
            </form>
            \(self.error(error))
            <p class="hint">Or choose two traces in a search's results.</p>
            """)
    }

    // MARK: - Dependencies

    /// Calls between services: a graph (up to `ServiceGraph.maxServices` services) and a table
    /// of every call, busiest first (up to `WebUIRoutes.maxPageLimit` rows).
    func dependencies(_ form: Form, answer: QueryAPI.Dependencies?, error: String?) -> String {
        var body = """
            <h1>Dependencies</h1>
            <form method="get" action="/ui/dependencies" class="search">
            \(since(form, default: "1h", allowAll: false))
            <button type="submit">Show</button>
            </form>
            \(self.error(error))
            """
        guard let answer else { return page("Dependencies", section: .dependencies, body) }
        if answer.truncated {
            body += note("The collector's read budget ran out after \(answer.spansRead) spans: these calls are the range's newest part only. A shorter range counts whole.")
        }
        guard !answer.edges.isEmpty else {
            return page("Dependencies", section: .dependencies, body + note("No calls between services in this range: a span whose parent span is another service's makes one."))
        }
        let since = form["since"].isEmpty ? "1h" : form["since"]
        // Counted before any layout: a range can hold millions of calls between thousands of services.
        let services = Set(answer.edges.lazy.flatMap { [$0.caller, $0.callee] }).count
        if services <= ServiceGraph.maxServices {
            body += "<div class=\"graph\">\(ServiceGraph(answer.edges).svg(since: since))</div>"
        } else {
            body += note("\(services) services call each other: too many to draw (at most \(ServiceGraph.maxServices)); the table lists the calls.")
        }
        let busiest = answer.edges.sorted { ($0.calls, $1.caller, $1.callee) > ($1.calls, $0.caller, $0.callee) }
        let shown = busiest.prefix(WebUIRoutes.maxPageLimit)
        body += "<table class=\"results calls\"><thead><tr><th>Caller</th><th>Callee</th><th>Calls</th><th>Failed</th></tr></thead><tbody>"
        for edge in shown {
            body += "<tr\(edge.errors > 0 ? " class=\"failed\"" : "")>"
                + "<td>\(HTML.link("/ui/", [("service", edge.caller), ("since", since)], text: edge.caller))</td>"
                + "<td>\(HTML.link("/ui/", [("service", edge.callee), ("since", since)], text: edge.callee))</td>"
                + "<td class=\"number\">\(edge.calls)</td>"
                + "<td class=\"number\">\(edge.errors) (\(HTML.percent(edge.calls > 0 ? Double(edge.errors) / Double(edge.calls) : 0, decimals: 2)))</td></tr>"
        }
        body += "</tbody></table>"
        if shown.count < answer.edges.count {
            body += note("Showing the busiest \(shown.count) of \(answer.edges.count) calls.")
        }
        return page("Dependencies", section: .dependencies, body)
    }

    // MARK: - Signals

    func signals(_ form: Form, answer: QueryAPI.Signals?, error: String?) -> String {
        var body = """
            <h1>Golden signals</h1>
            <form method="get" action="/ui/signals" class="search">
            \(field("service", "Service", form))
            \(select("by", "Per", form, options: [("service", "service"), ("operation", "operation")], default: "service"))
            \(since(form, default: "1h", allowAll: false))
            <button type="submit">Show</button>
            </form>
            \(self.error(error))
            """
        guard let answer else { return page("Signals", section: .signals, body) }
        guard !answer.rows.isEmpty else {
            return page("Signals", section: .signals, body + note("No requests in this range: server and consumer spans make the signals."))
        }
        let byOperation = answer.rows.contains { $0.operation != nil }
        body += "<table class=\"results\"><thead><tr><th>Service</th>\(byOperation ? "<th>Operation</th>" : "")<th>Requests</th><th>Per second</th>"
            + "<th>Errors</th><th>p50</th><th>p90</th><th>p99</th><th>Saturation</th><th>Requests over time</th></tr></thead><tbody>"
        for row in answer.rows {
            let search = [("service", row.service)] + (row.operation.map { [("operation", $0)] } ?? []) + [("since", form["since"].isEmpty ? "1h" : form["since"])]
            body += "<tr\(row.errorRatio > 0.01 ? " class=\"failed\"" : "")><td>\(HTML.link("/ui/", search, text: row.service))</td>"
                + (byOperation ? "<td>\(HTML.text(row.operation ?? ""))</td>" : "")
                + "<td class=\"number\">\(row.requests)</td><td class=\"number\">\(String(format: "%.2f", row.requestsPerSecond))</td>"
                + "<td class=\"number\">\(row.errors) (\(HTML.percent(row.errorRatio, decimals: 2)))</td>"
                + "<td class=\"number\">\(row.latency.map { HTML.duration($0.p50) } ?? "–")</td>"
                + "<td class=\"number\">\(row.latency.map { HTML.duration($0.p90) } ?? "–")</td>"
                + "<td class=\"number\">\(row.latency.map { HTML.duration($0.p99) } ?? "–")</td>"
                + "<td class=\"number\">\(row.saturation.map { HTML.percent($0) } ?? "–")</td>"
                + "<td>\(Self.sparkline(row.series, errors: row.errorSeries, stepSeconds: answer.seriesStepSeconds))</td></tr>"
        }
        body += "</tbody></table>"
        if let total = answer.totalRows, total > answer.rows.count {
            body += note("Showing \(answer.rows.count) of \(total) rows.")
        }
        return page("Signals", section: .signals, body)
    }

    /// Points a sparkline draws at most: longer series are summed in neighbouring groups.
    static let maxSparklinePoints = 120

    /// Requests per step over the range as a small SVG line, scaled to its own highest step.
    static func sparkline(_ series: [Int], errors: [Int] = [], stepSeconds: Int) -> String {
        traffic(series, errors: errors, stepSeconds: stepSeconds, width: 120, height: 24, class: "spark")
    }

    /// Requests (and failed requests, red, when any failed) per step as SVG lines on one scale,
    /// `width` × `height`; at most `maxSparklinePoints` points, longer series summed in groups.
    static func traffic(_ series: [Int], errors: [Int], stepSeconds: Int, width: Int, height: Int, class name: String) -> String {
        guard series.count >= 2 else { return "–" }
        let group = (series.count + maxSparklinePoints - 1) / maxSparklinePoints
        func grouped(_ values: [Int]) -> [Int] {
            var points: [Int] = []
            points.reserveCapacity(values.count / group + 1)
            var index = 0
            while index < values.count {
                points.append(values[index..<min(index + group, values.count)].reduce(0) { $0 &+ max($1, 0) })
                index += group
            }
            return points
        }
        let points = grouped(series)
        guard points.count >= 2 else { return "–" }
        let failures = errors.count == series.count ? grouped(errors) : []
        let most = points.max() ?? 0
        let highest = Double(max(most, failures.max() ?? 0, 1))
        let step = Double(width) / Double(points.count - 1)
        let (top, room) = (2.0, Double(height) - 4)
        func line(_ values: [Int]) -> String {
            values.enumerated().map {
                String(format: "%.1f,%.1f", Double($0.offset) * step, top + room - Double($0.element) / highest * room)
            }.joined(separator: " ")
        }
        let failed = failures.reduce(0) { $0 &+ $1 }
        return "<svg class=\"\(name)\" viewBox=\"0 0 \(width) \(height)\" preserveAspectRatio=\"none\" role=\"img\" "
            + "aria-label=\"requests per \(HTML.duration(Double(stepSeconds) * Double(group) * 1e9)), at most \(most)\(failed > 0 ? ", \(failed) failed" : "")\">"
            + "<polyline points=\"\(line(points))\"/>"
            + (failed > 0 ? "<polyline class=\"errors\" points=\"\(line(failures))\"/>" : "") + "</svg>"
    }

    // MARK: - SLOs

    /// `form`: `service` keeps the SLOs whose service holds the text (any case); `sort=budget`
    /// puts the least budget left first (as configured otherwise).
    func slos(_ answer: QueryAPI.SLOList?, form: Form = Form([]), error: String?) -> String {
        var body = """
            <h1>Service level objectives</h1>
            <form method="get" action="/ui/slos" class="search">
            \(field("service", "Service", form))
            \(select("sort", "Order", form, options: [("", "as configured"), ("budget", "least budget left first")], default: ""))
            <button type="submit">Show</button>
            </form>
            \(self.error(error))
            """
        guard let answer else { return page("SLOs", section: .slos, body) }
        guard !answer.slos.isEmpty else {
            return page("SLOs", section: .slos, body + note("No SLOs: start the collector with <code>--slo slo.yaml</code>."))
        }
        let wanted = form["service"].lowercased()
        var shown = wanted.isEmpty ? answer.slos : answer.slos.filter { ($0.service ?? "").lowercased().contains(wanted) }
        if form["sort"] == "budget" {
            shown = shown.enumerated().sorted { a, b in
                // An unknown budget (NaN) last; an infinitely overspent one (−∞: a 100 % objective that failed) first.
                let x = a.element.budgetRemaining.isNaN ? .infinity : a.element.budgetRemaining
                let y = b.element.budgetRemaining.isNaN ? .infinity : b.element.budgetRemaining
                return x != y ? x < y : a.offset < b.offset
            }.map(\.element)
        }
        guard !shown.isEmpty else {
            return page("SLOs", section: .slos, body + note("No SLO's service holds “\(HTML.text(wanted))”."))
        }
        body += "<p class=\"summary\">Evaluated at \(HTML.time(answer.evaluatedAtUnixNano)).</p>"
        body += "<table class=\"results\"><thead><tr><th>SLO</th><th>Service</th><th>Indicator</th><th>Objective</th><th>SLI</th>"
            + "<th>Budget left</th><th>Burn rates</th><th>Firing</th></tr></thead><tbody>"
        for slo in shown {
            let firing = slo.firing.map { "\(HTML.text($0.severity)) (\(HTML.text($0.longWindow))/\(HTML.text($0.shortWindow)) &gt; \(String(format: "%g", $0.threshold)))" }
            let rates = slo.burnRates.map { rate in
                "\(HTML.text(rate.window)) " + (rate.rate.map { String(format: "%.2f", $0) } ?? "–")
            }.joined(separator: " · ")
            let location = [slo.service, slo.operation].compactMap { $0 }.map(HTML.text).joined(separator: ": ")
            body += "<tr\(firing.isEmpty && slo.budgetRemaining > 0 ? "" : " class=\"failed\"")><td><a href=\"/ui/slos/\(HTML.pathSegment(slo.name))\">\(HTML.text(slo.name))</a></td><td>\(location)</td>"
                + "<td>\(HTML.text(slo.indicator))</td><td class=\"number\">\(String(format: "%g", slo.objective))%</td>"
                + "<td class=\"number\">\(slo.sli.map { HTML.percent($0, decimals: 3) } ?? "–")</td>"
                + "<td class=\"number\">\(HTML.percent(slo.budgetRemaining))</td><td>\(rates)</td>"
                + "<td>\(firing.isEmpty ? "–" : firing.joined(separator: "<br>"))</td></tr>"
        }
        body += "</tbody></table>"
        return page("SLOs", section: .slos, body)
    }

    // MARK: - One SLO

    /// `traffic`: the SLO's service (or operation) over its window, from the golden signals.
    func slo(_ detail: QueryAPI.SLODetail, traffic: (row: QueryAPI.SignalRow, stepSeconds: Int)? = nil) -> String {
        let slo = detail.status
        let location = [slo.service, slo.operation].compactMap { $0 }.map(HTML.text).joined(separator: ": ")
        var body = """
            <h1>SLO \(HTML.text(slo.name))</h1>
            <p class="summary">\(location.isEmpty ? "" : location + " · ")\(HTML.text(slo.indicator)) · objective \(String(format: "%g", slo.objective))% \
            over \(HTML.duration(Double(slo.windowSeconds) * 1e9)) · SLI \(slo.sli.map { HTML.percent($0, decimals: 3) } ?? "– (no traffic)") · \
            budget left \(HTML.percent(slo.budgetRemaining))\(slo.budgetRemaining <= 0 ? " · exhausted"
                : slo.timeToExhaustionSeconds.map { " · gone in " + HTML.duration(min($0, 1e9) * 1e9) + " at the last hour's rate" } ?? "")</p>
            """
        body += "<h2>Error budget left over the window</h2>" + budgetChart(detail.budgetHistory)
        if let traffic {
            body += "<h2>Its service's requests and failed requests over the window</h2>"
                + Self.traffic(traffic.row.series, errors: traffic.row.errorSeries, stepSeconds: traffic.stepSeconds, width: 1_000, height: 160, class: "chart traffic")
                + "<p class=\"summary\">\(traffic.row.requests) requests, \(traffic.row.errors) failed (\(HTML.percent(traffic.row.errorRatio, decimals: 2))), "
                + "per \(HTML.duration(Double(traffic.stepSeconds) * 1e9)); failures in red.</p>"
        }
        body += "<h2>Burn rates</h2><table class=\"results narrow\"><thead><tr><th>Window</th><th>Burn rate</th></tr></thead><tbody>"
        for rate in slo.burnRates {
            body += "<tr\((rate.rate ?? 0) > 1 ? " class=\"failed\"" : "")><td>\(HTML.text(rate.window))</td>"
                + "<td class=\"number\">\(rate.rate.map { String(format: "%.2f", $0) } ?? "– (no traffic)")</td></tr>"
        }
        body += "</tbody></table><h2>Alerts</h2><table class=\"results narrow\"><thead><tr><th>Severity</th><th>Windows</th><th>Threshold</th><th>Now</th></tr></thead><tbody>"
        for alert in slo.alerts {
            body += "<tr\(alert.firing ? " class=\"failed\"" : "")><td>\(HTML.text(alert.severity))</td><td>\(HTML.text(alert.longWindow)) and \(HTML.text(alert.shortWindow))</td>"
                + "<td class=\"number\">\(String(format: "%g", alert.threshold))</td><td>\(alert.firing ? "firing" : "–")</td></tr>"
        }
        body += "</tbody></table><h2>Alert history</h2>"
        if detail.alertEvents.isEmpty {
            body += note("No alert has fired or resolved yet.")
        } else {
            body += "<table class=\"results narrow\"><thead><tr><th>Time (UTC)</th><th>Severity</th><th>Change</th></tr></thead><tbody>"
            for event in detail.alertEvents {
                body += "<tr\(event.firing ? " class=\"failed\"" : "")><td>\(HTML.time(event.timeUnixNano))</td><td>\(HTML.text(event.severity))</td>"
                    + "<td>\(event.firing ? "fired" : "resolved")</td></tr>"
            }
            body += "</tbody></table>"
        }
        return page("SLO \(slo.name)", section: .slos, body)
    }

    /// The budget left over time as an SVG line: 100 % at the top, 0 % on the marked line, an
    /// overspent budget below it.
    private func budgetChart(_ points: [QueryAPI.BudgetPoint]) -> String {
        let values = points.map { $0.budgetRemaining.isFinite ? min(max($0.budgetRemaining, -10), 1) : 0 }
        guard values.count >= 2 else { return note("Not enough history yet.") }
        let lowest = min(values.min() ?? 0, 0)
        let span = 1 - lowest
        func y(_ value: Double) -> String { String(format: "%.1f", (1 - value) / span * 190 + 5) }
        let step = 1_000 / Double(values.count - 1)
        let line = values.enumerated().map { String(format: "%.1f", Double($0.offset) * step) + "," + y($0.element) }.joined(separator: " ")
        return "<svg class=\"chart\" viewBox=\"0 0 1000 200\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"budget left, "
            + "\(HTML.percent(values.first ?? 0)) to \(HTML.percent(values.last ?? 0))\">"
            + "<line class=\"zero\" x1=\"0\" x2=\"1000\" y1=\"\(y(0))\" y2=\"\(y(0))\"/>"
            + "<polyline class=\"budget\" points=\"\(line)\"/></svg>"
            + "<p class=\"summary\">\(HTML.time(points.first?.timeUnixNano ?? 0)) … \(HTML.time(points.last?.timeUnixNano ?? 0)): "
            + "\(HTML.percent(points.first?.budgetRemaining ?? 0)) → \(HTML.percent(points.last?.budgetRemaining ?? 0))"
            + (values.contains(-10) ? " (the line stops at −1000 %)" : "") + "</p>"
    }
}
