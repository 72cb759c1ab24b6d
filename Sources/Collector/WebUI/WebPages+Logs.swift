import Foundation
import PeriscopeModel
import PeriscopeQueryAPI

/// The log search page, and the log tables and notes the trace page shares.
extension WebPages {
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

    func logTable(_ logs: [QueryAPI.Log]) -> String {
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
    func cutNote(_ answer: QueryAPI.Logs, newestFirst: Bool, link: [(String, String)], start: UInt64? = nil, end: UInt64? = nil) -> String? {
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
}
