import Foundation
import PeriscopeModel
import PeriscopeQueryAPI

/// The traces pages: a search's results with their scatter plot, one trace's waterfall, and
/// two traces compared.
extension WebPages {
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

    // MARK: - One trace

    /// `find`: text to look for in the spans (service, name, status, attribute keys and values,
    /// event names, span ID), case-insensitive: matches are marked, the rest dimmed. A trace of
    /// more than `detailedSpans` spans gets rows that link to their spans' pages.
    func trace(_ trace: QueryAPI.Trace, logs: QueryAPI.Logs?, find: String = "", detailedSpans: Int = Self.maxDetailedSpans) -> String {
        let tree = TraceTree(spans: trace.spans)
        let start = tree.startUnixNano
        let total = Double(max(tree.durationNanos, 1))
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
        let detailed = trace.spans.count <= detailedSpans
        if !detailed {
            body += note("A trace of over \(detailedSpans) spans: each span's attributes, events and logs are on its own page (follow its name).")
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
        // Rows of a grid, not of a table: a row off screen is not laid out (`content-visibility`),
        // and a bar is one element placed by classes.
        var waterfall = "<div class=\"waterfall\" role=\"table\"><div class=\"row head\" role=\"row\"><span role=\"columnheader\">Span</span>"
            + "<span class=\"number\" role=\"columnheader\">Duration</span><span role=\"columnheader\">\(HTML.duration(0)) … \(HTML.duration(total))</span></div>"
        let critical = CriticalPath.spanIDs(in: trace.spans)
        // Past `detailedSpans` a row holds no details but links to its span's page: the
        // browser lays out far less markup, and a 10,000-span trace is drawn whole.
        let spanPaths = Self.spanPaths(of: trace.traceID)
        // A trace has few services and many spans: each service's name is escaped once.
        var serviceTexts = [String: String]()
        waterfall.reserveCapacity(waterfall.utf8.count + tree.rows.count * (detailed ? 1_024 : 384))
        for row in tree.rows {
            let span = row.span, depth = row.depth
            let onPath = critical.contains(span.spanID)
            let bar = Self.bar(offset: Double(span.startTimeUnixNano - start), duration: Double(span.durationNanos), total: total)
            let duration = HTML.duration(Double(span.durationNanos))
            let service: String
            if let known = serviceTexts[span.service] {
                service = known
            } else {
                service = HTML.text(span.service)
                serviceTexts[span.service] = service
            }
            let spanLogs = logsBySpan[span.spanID] ?? []
            let isFailed = span.isFailed
            waterfall += isFailed ? "<div class=\"row failed" : "<div class=\"row"
            if !needle.isEmpty {
                let isMatch = Self.span(span, matches: needle)
                if isMatch { matched += 1 }
                waterfall += isMatch ? " match" : " unmatched"
            }
            waterfall += "\" role=\"row\">"
            var label = row.isOrphan ? "<span class=\"orphan\" title=\"its parent span is not in the trace\">┄</span> " : ""
            // A linked row's link is its only way to its details: a span whose service and name
            // show nothing is linked by its ID instead.
            if !detailed, HTML.showsNothing(span.service), HTML.showsNothing(span.name) {
                label += "<span class=\"dim\">span \(span.spanID.hex)</span>"
            } else {
                label += "<span class=\"service\">\(service)</span> \(HTML.text(span.name))"
            }
            if !spanLogs.isEmpty { label += " <span class=\"dim\">· \(spanLogs.count) log\(spanLogs.count == 1 ? "" : "s")</span>" }
            let indent = min(depth, WebStyle.maxDepth)
            if detailed {
                waterfall += "<div class=\"span\" role=\"cell\"><details class=\"depth-\(indent)\"><summary>\(label)</summary>\(spanDetails(span, logs: spanLogs))</details></div>"
            } else {
                waterfall += "<div class=\"span depth-\(indent)\" role=\"cell\"><a href=\"\(spanPaths)\(span.spanID.hex)\">\(label)</a></div>"
            }
            // The bar is the row's third cell itself, placed in its column by classes: no track
            // element around it (one element fewer a row).
            waterfall += "<div class=\"number\" role=\"cell\">\(duration)</div>"
            waterfall += "<i class=\"bar\(isFailed ? " failed" : "")\(onPath ? " critical" : "") x\(bar.x) w\(bar.width)\" role=\"cell\" "
            waterfall += "aria-label=\"from \(HTML.duration(Double(span.startTimeUnixNano - start))), \(duration)\(isFailed ? ", failed" : "")\(onPath ? ", critical path" : "")\"></i></div>"
        }
        waterfall += "</div>"
        if !needle.isEmpty {
            body += note("\(matched) of \(trace.spans.count) spans match “\(HTML.text(needle))”.")
        }
        // Where the time went, folded, above the waterfall: on saved pages a closed `<details>`
        // after 10,000 rows held Chromium's load event back (BENCHMARKS.md, stop 56).
        body += statistics(TraceStatistics(trace))
        body += waterfall
        body += "<p class=\"hint\">Outlined bars are the critical path: from the root, each time the child that ended last, the span its parent waited for.</p>"
        body += "<form method=\"get\" action=\"/ui/compare\" class=\"search compare-with\"><input type=\"hidden\" name=\"a\" value=\"\(trace.traceID.hex)\">"
            + "<label>Compare with trace <input name=\"b\" placeholder=\"32 hex digits\" required></label><button type=\"submit\">Compare</button></form>"
        if let logs {
            body += "<h2>Log lines</h2>" + logTable(logs.logs)
            if let cut = cutNote(logs, newestFirst: false, link: [("trace_id", trace.traceID.hex)]) { body += cut }
        }
        return page("Trace \(trace.traceID.hex)", section: .traces, body)
    }

    /// Spans past which a waterfall's rows link to their spans' pages instead of holding their details.
    static let maxDetailedSpans = 2_000

    /// Where the pages of a trace's spans are: a span's page is this and its ID.
    static func spanPaths(of traceID: TraceID) -> String {
        "/ui/traces/\(traceID.hex)/spans/"
    }

    /// A span's identity, attributes, events and log lines, as a table.
    func spanDetails(_ span: QueryAPI.Span, logs spanLogs: [QueryAPI.Log]) -> String {
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
        if !spanLogs.isEmpty {
            details += "<tr><th>logs</th><td>" + spanLogs.prefix(Self.maxShownPerSpan).map { log in
                "\(HTML.time(log.timeUnixNano)) \(HTML.text(log.severityText.isEmpty ? Self.levelName(log.severityNumber) : log.severityText)) \(HTML.text(log.body.text))"
            }.joined(separator: "<br>") + (spanLogs.count > Self.maxShownPerSpan ? "<br>… \(spanLogs.count - Self.maxShownPerSpan) more in <a href=\"/ui/logs?\(HTML.query([("trace_id", span.traceID.hex)]))\">the trace's log lines</a>" : "") + "</td></tr>"
        }
        return details + "</table>"
    }

    /// The spans of `trace` with ID `spanID` (one, unless a sender reused the ID), each with its
    /// details, its parent and how many children it has among the spans read. A span whose
    /// parent ID is its own has no parent here, as in the waterfall (an orphan).
    func span(_ spanID: SpanID, of trace: QueryAPI.Trace, logs: QueryAPI.Logs?) -> String {
        let found = trace.spans.filter { $0.spanID == spanID }
        let traceLink = "<a href=\"/ui/traces/\(trace.traceID.hex)\">trace \(trace.traceID.hex)</a>"
        var body = "<h1>Span <span class=\"trace-id\">\(spanID.hex)</span></h1><p class=\"summary\">of \(traceLink)</p>"
        // Parents and children are looked for among the spans read: a trace past the page's cap has more.
        let cut = (trace.totalSpans ?? 0) > trace.spans.count
        let among = cut ? " among its first \(trace.spans.count) spans by start time" : ""
        if found.isEmpty {
            body += note("The trace has no span with this ID\(among).")
            return page("Span \(spanID.hex)", section: .traces, body)
        }
        if found.count > Self.maxShownPerSpan {
            body += note("\(found.count) spans of this trace have this ID (its sender reused it); the first \(Self.maxShownPerSpan) are shown, and each counts the children of them all.")
        } else if found.count > 1 {
            body += note("\(found.count) spans of this trace have this ID (its sender reused it); each is shown, and each counts the children of them all.")
        }
        if cut {
            body += note("The trace has \(trace.totalSpans ?? 0) spans; its parent and children are looked for among its first \(trace.spans.count) by start time.")
        }
        let spanLogs = (logs?.logs ?? []).filter { $0.spanID == spanID }
        let children = trace.spans.filter { $0.parentSpanID == spanID && $0.spanID != spanID }.count
        for span in found.prefix(Self.maxShownPerSpan) {
            let parent = span.parentSpanID.map { id in
                id != spanID && trace.spans.contains { $0.spanID == id }
                    ? "child of <a href=\"\(Self.spanPaths(of: trace.traceID))\(id.hex)\">\(id.hex)</a>"
                    : "child of \(id.hex) (not in the trace\(cut ? "'s first \(trace.spans.count) spans" : ""))"
            } ?? "a root span"
            body += "<h2><span class=\"service\">\(HTML.text(span.service))</span> \(HTML.text(span.name))</h2>"
                + "<p class=\"summary\">\(HTML.duration(Double(span.durationNanos))) · \(span.isFailed ? "failed · " : "")\(parent) · \(children) child\(children == 1 ? "" : "ren")\(cut ? " among those" : "")</p>"
                + spanDetails(span, logs: spanLogs)
        }
        if let logs, logs.truncated {
            body += note("Only the trace's first \(logs.logs.count) log lines were looked at for this span's.")
        }
        return page("Span \(spanID.hex)", section: .traces, body)
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
    func statistics(_ statistics: TraceStatistics) -> String {
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
            body += note("Only the first \(WebUIRoutes.maxComparedSpans) spans of \(cutA && cutB ? "both traces" : cutA ? "A" : "B") are compared; "
                + "<code>periscope compare</code> compares them whole.")
        }
        body += "<table class=\"results compare\"><thead><tr><th>Call</th><th>A</th><th>B</th><th>Change</th></tr></thead><tbody>"
        for row in comparison.rows.prefix(WebUIRoutes.maxComparedSpans) {
            let mark = row.spansA == 0 ? " class=\"only-b\"" : row.spansB == 0 ? " class=\"only-a\"" : ""
            func cell(_ spans: Int, _ total: UInt64) -> String {
                spans == 0 ? "–" : (spans > 1 ? "\(spans) × " : "") + HTML.duration(Double(total))
            }
            body += "<tr\(mark)><td class=\"call depth-\(min(row.depth, WebStyle.maxDepth))\">\(HTML.text(row.call))</td>"
                + "<td class=\"number\">\(cell(row.spansA, row.totalNanosA))</td><td class=\"number\">\(cell(row.spansB, row.totalNanosB))</td>"
                + "<td class=\"number\">\(change(row.totalNanosA, row.totalNanosB, inA: row.spansA > 0, inB: row.spansB > 0))</td></tr>"
        }
        body += "</tbody></table>"
        if comparison.rows.count > WebUIRoutes.maxComparedSpans {
            body += note("Showing the first \(WebUIRoutes.maxComparedSpans) of \(comparison.rows.count) calls.")
        }
        return page("Compare traces", section: .traces, body)
    }

    /// Where a span's bar starts and how far it reaches, in `WebStyle.barSteps` of the trace: the
    /// start rounded down, the end to the nearest step (so a child ending with its parent ends
    /// with it), at least one step wide, never past the track's end.
    static func bar(offset: Double, duration: Double, total: Double) -> (x: Int, width: Int) {
        let steps = WebStyle.barSteps
        let x = step((offset / total * Double(steps)).rounded(.down), in: 0...(steps - 1))
        let end = step(((offset + duration) / total * Double(steps)).rounded(), in: (x + 1)...steps)
        return (x, end - x)
    }

    /// `value` within `range`, clamped before it becomes an integer (a span that starts past the
    /// trace's end, or a duration past it, is drawn at the edge); the range's start when not a number.
    static func step(_ value: Double, in range: ClosedRange<Int>) -> Int {
        guard !value.isNaN else { return range.lowerBound }
        return Int(min(max(value, Double(range.lowerBound)), Double(range.upperBound)))
    }

    /// B's total against A's: `+4.00ms (+40.0%)`, marked slower or faster past a tenth; `only in A` or `only in B`.
    func change(_ a: UInt64, _ b: UInt64, inA: Bool, inB: Bool) -> String {
        guard inA else { return "only in B" }
        guard inB else { return "only in A" }
        let difference = b >= a ? "+" + HTML.duration(Double(b - a)) : "−" + HTML.duration(Double(a - b))
        guard a > 0 else { return b == 0 ? "same" : difference + " (new)" }
        let ratio = (Double(b) - Double(a)) / Double(a)
        let text = difference + " (" + (ratio >= 0 ? "+" : "") + HTML.percent(ratio) + ")"
        switch TraceComparison.Trend(a, b) {
        case .slower: return "<span class=\"slower\">\(text)</span>"
        case .faster: return "<span class=\"faster\">\(text)</span>"
        case .similar: return text
        }
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
}
