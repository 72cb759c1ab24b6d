import PeriscopeModel
import PeriscopeQueryAPI

/// Entry point for fuzzing what the web UI does with text it did not choose: a value escaped by
/// `HTML.text` has no `<`, `>`, `"` or `'`, and reads back as itself; a page with the text in
/// every telemetry field (service, span and event names, attribute keys and values, status
/// message, log body, a service in the dependency graph) has exactly the markup (`<`, `>`, `"`) of the same page with a plain word there, so no
/// value can open or close an element or an attribute; a `Cookie` header and a form body are
/// read or refused, never trapped on; a path with a `..` segment is never the UI's. Public for
/// the libFuzzer target in `Fuzz/`; the property tests call it too.
public enum WebUIFuzzing {
    public static func check(_ input: UnsafeRawBufferPointer) {
        let text = String(decoding: input, as: UTF8.self)
        let escaped = HTML.text(text)
        precondition(!escaped.contains(where: { $0 == "<" || $0 == ">" || $0 == "\"" || $0 == "'" }), "'\(escaped)' from '\(text)'")
        precondition(Array(unescaped(escaped).unicodeScalars) == Array(visible(HTML.clipped(text)).unicodeScalars), "'\(escaped)' does not read back as '\(text)'")
        precondition(!HTML.query([(text, text)]).contains(where: { $0 == "<" || $0 == ">" || $0 == "\"" || $0 == "'" || $0 == " " }))

        precondition(WebSessions.ids(inCookieHeader: text).allSatisfy { !$0.isEmpty && $0.utf8.count <= 64 })
        let next = WebUIRoutes.nextPage(text)
        precondition(next == "/ui/" || (next.hasPrefix("/ui") && !next.contains("//") && WebUIRoutes.isUIPath(String(next.prefix { $0 != "?" }))), "next '\(next)' from '\(text)'")
        _ = QueryParameters(query: text).string("token")
        if WebUIRoutes.isUIPath(text) {
            precondition(!text.split(separator: "/").contains("..") && (text == "/" || text.hasPrefix("/ui")), "'\(text)' taken as the UI's")
        }

        // An empty value leaves a field out of a link (one pair fewer), which is no markup either.
        guard !text.isEmpty else { return }
        let pages = WebPages(authenticated: true)
        // Looked for too ("x" first, so the text never trims to nothing): matches are marked, never markup.
        let hostile = pages.trace(trace(text), logs: logs(text), find: "x" + text)
        let plain = pages.trace(trace("word"), logs: logs("word"), find: "xword")
        precondition(markup(hostile) == markup(plain), "a value changed the trace page's markup: '\(text)'")
        // The same trace with rows that link to their spans, and one span's own page.
        precondition(markup(pages.trace(trace(text), logs: logs(text), find: "x" + text, detailedSpans: 1))
                     == markup(pages.trace(trace("word"), logs: logs("word"), find: "xword", detailedSpans: 1)),
                     "a value changed the markup of a large trace's page: '\(text)'")
        for id in [SpanID(1), SpanID(2), SpanID(9)] {
            precondition(markup(pages.span(id, of: trace(text), logs: logs(text))) == markup(pages.span(id, of: trace("word"), logs: logs("word"))),
                         "a value changed the markup of span \(id.hex)'s page: '\(text)'")
        }
        let form = WebPages.Form([("service", text), ("contains", text), ("since", text)])
        precondition(markup(pages.logs(form, answer: logs(text), error: text)) == markup(pages.logs(WebPages.Form([("service", "word"), ("contains", "word"), ("since", "word")]), answer: logs("word"), error: "word")),
                     "a value changed the log page's markup: '\(text)'")
        // Two traces named by the input compared (B with a call A has not), and listed with their scatter plot.
        func extended(_ name: String) -> QueryAPI.Trace {
            var trace = trace(name)
            var extra = trace.spans[1]
            extra.spanID = SpanID(3)
            extra.service = "extra"
            extra.name = "extra"
            trace.spans.append(extra)
            return trace
        }
        if text != "extra" {
            precondition(markup(pages.compare(TraceComparison(trace(text), extended(text)), cutA: true, cutB: false))
                         == markup(pages.compare(TraceComparison(trace("word"), extended("word")), cutA: true, cutB: false)),
                         "a value changed the comparison's markup: '\(text)'")
        }
        precondition(markup(pages.traces(form, services: [text], answer: list(text), error: text))
                     == markup(pages.traces(WebPages.Form([("service", "word"), ("contains", "word"), ("since", "word")]), services: ["word"], answer: list("word"), error: "word")),
                     "a value changed the traces page's markup: '\(text)'")
        // A service named by the input calls one and is called by another: the graph and table keep their shape.
        if text != "caller" && text != "callee" {
            func calls(_ name: String) -> QueryAPI.Dependencies {
                QueryAPI.Dependencies(edges: [
                    QueryAPI.Dependency(caller: name, callee: "callee", calls: 3, errors: 1),
                    QueryAPI.Dependency(caller: "caller", callee: name, calls: 2, errors: 0),
                ])
            }
            let sinceForm = WebPages.Form([("since", text)])
            precondition(markup(pages.dependencies(sinceForm, answer: calls(text), error: text))
                         == markup(pages.dependencies(WebPages.Form([("since", "word")]), answer: calls("word"), error: "word")),
                         "a value changed the dependencies page's markup: '\(text)'")
        }
    }

    /// The characters that make markup, in order: what a value must never add to.
    static func markup(_ page: String) -> String {
        String(page.unicodeScalars.filter { $0 == "<" || $0 == ">" || $0 == "\"" }.map(Character.init))
    }

    /// What `HTML.text` shows of a value: C0 and C1 controls, line and paragraph separators and
    /// bidirectional overrides and isolates as `\u{…}` (written out here, not taken from the code
    /// under test).
    static func visible(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let shownAsEscape = value < 0x20 || (0x7f...0x9f).contains(value) || value == 0x2028 || value == 0x2029
                || (0x202a...0x202e).contains(value) || (0x2066...0x2069).contains(value)
            if scalar != "\n" && scalar != "\t" && shownAsEscape {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The text a browser reads from escaped HTML, scalar by scalar (`&lt;` followed by a
    /// combining mark is one `Character`, which a search by characters would not find).
    static func unescaped(_ html: String) -> String {
        let entities: [(String, Unicode.Scalar)] = [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&amp;", "&")]
        let scalars = Array(html.unicodeScalars)
        var out = String.UnicodeScalarView()
        var index = 0
        scan: while index < scalars.count {
            if scalars[index] == "&" {
                for (entity, scalar) in entities {
                    let pattern = Array(entity.unicodeScalars)
                    if scalars[index...].starts(with: pattern) {
                        out.append(scalar)
                        index += pattern.count
                        continue scan
                    }
                }
            }
            out.append(scalars[index])
            index += 1
        }
        return String(out)
    }

    static func list(_ text: String) -> QueryAPI.TraceList {
        QueryAPI.TraceList(traces: (1...3).map { n in
            QueryAPI.TraceSummary(traceID: TraceID(high: 3, low: UInt64(n)), startTimeUnixNano: UInt64(n) * 1_000, durationNanos: UInt64(n) * 7,
                                  rootService: text, rootName: text, spanCount: n, errorCount: n == 2 ? 1 : 0, services: [text, text])
        })
    }

    static func trace(_ text: String) -> QueryAPI.Trace {
        let id = TraceID(high: 1, low: 2)
        func span(_ spanID: UInt64, parent: UInt64?) -> QueryAPI.Span {
            QueryAPI.Span(
                traceID: id, spanID: SpanID(spanID), parentSpanID: parent.map(SpanID.init), service: text, name: text, kind: "server",
                startTimeUnixNano: 1_000 + spanID, endTimeUnixNano: 2_000, status: QueryAPI.Status(code: "error", message: text),
                attributes: [text: .string(text)], resource: [:],
                events: [QueryAPI.Event(timeUnixNano: 1_500, name: text, attributes: [text: .string(text)])], links: [])
        }
        return QueryAPI.Trace(traceID: id, spans: [span(1, parent: nil), span(2, parent: 1)])
    }

    static func logs(_ text: String) -> QueryAPI.Logs {
        var answer = QueryAPI.Logs(logs: [QueryAPI.Log(
            timeUnixNano: 1_000, observedTimeUnixNano: 1_000, service: text, severityNumber: 17, severityText: text, body: .string(text),
            attributes: [text: .string(text)], traceID: TraceID(high: 1, low: 2), spanID: SpanID(1))])
        answer.truncated = true
        answer.resumeUnixNano = 1_000
        return answer
    }
}
