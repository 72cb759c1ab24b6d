@testable import PeriscopeCollector
import PeriscopeModel
import PeriscopeQueryAPI
import PeriscopeTesting
import Synchronization
import Testing

@Suite("web UI pages, sessions and escaping")
struct WebUIPageTests {
    @Test("escaping: markup characters become entities, control characters show as escapes")
    func escaping() {
        #expect(HTML.text("<a href=\"x\">it's & more</a>") == "&lt;a href=&quot;x&quot;&gt;it&#39;s &amp; more&lt;/a&gt;")
        #expect(HTML.text("a\u{1b}[31mb\u{0}\nc") == "a\\u{1b}[31mb\\u{0}\nc")
        // Bidirectional overrides and isolates, and line separators, would reorder or break how
        // the text around a value displays ("invoice\u{202E}fdp.exe" shows as "invoiceexe.pdf").
        #expect(HTML.text("invoice\u{202E}fdp.exe") == "invoice\\u{202e}fdp.exe")
        #expect(HTML.text("a\u{2066}b\u{2069}c\u{2028}d\u{85}e") == "a\\u{2066}b\\u{2069}c\\u{2028}d\\u{85}e")
        #expect(HTML.query([("service", "a b&c=<d>")]) == "service=a%20b%26c%3D%3Cd%3E")
        #expect(HTML.duration(850) == "850ns")
        #expect(HTML.duration(4_560_000) == "4.56ms")
        #expect(HTML.duration(200_000_000_000) == "3m20s")
        #expect(HTML.duration(2_592_000_000_000_000) == "30d")
        #expect(HTML.duration(93_600_000_000_000) == "1d02h")
        #expect(HTML.duration(.infinity) == "–")
        #expect(HTML.duration(0) == "0s" && HTML.duration(1e30) == "213504d", "as the CLI shows them")
        #expect(HTML.time(1_714_564_800_123_456_789) == "2024-05-01T12:00:00.123Z")
        // A waterfall bar's place, from any span's times: clamped before it becomes an integer.
        #expect(WebPages.step(12.0, in: 0...999) == 12 && WebPages.step(1e300, in: 0...999) == 999 && WebPages.step(-5, in: 1...10) == 1)
        #expect(WebPages.step(.nan, in: 1...10) == 1 && WebPages.step(.infinity, in: 0...999) == 999 && WebPages.step(-.infinity, in: 1...10) == 1)
        #expect(WebPages.bar(offset: 0, duration: 40, total: 40) == (0, 1_000), "the root fills the column")
        #expect(WebPages.bar(offset: 10, duration: 20, total: 40) == (250, 500))
        #expect(WebPages.bar(offset: 0, duration: 0, total: 1) == (0, 1), "a zero-length trace: one step")
        #expect(WebPages.bar(offset: 50, duration: 10, total: 40) == (999, 1), "a span past the trace's end: at its edge")
        #expect(WebPages.bar(offset: 1, duration: 39, total: 40) == (25, 975), "a child ending with the root ends where its bar does")
        #expect(WebStyle.css.contains(".x5{margin-left:0.5%}") && WebStyle.css.contains(".x999{margin-left:99.9%}") && WebStyle.css.contains(".w1000{width:100%}"))
        #expect(WebStyle.css.contains("div.waterfall .depth-40{padding-left:min(44.0rem,50%)}"))
    }

    @Test("the seeds, damaged seeds and noise keep every page's markup and are never trapped on")
    func fuzzProperty() {
        let seeds = FuzzCorpus.seeds("WebUIFuzz")
        #expect(seeds.count >= 8, "seeds found under Fuzz/Corpus/WebUIFuzz")
        var generator = SeededGenerator(seed: 71)
        // 400 rounds: each renders eight pages, on a cooperative thread the unit phase's other suites share.
        for round in 0..<400 {
            let input = round < seeds.count ? seeds[round]
                : round % 4 == 0 ? (0..<Int(generator.next() % 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                : FuzzCorpus.damage(seeds[round % seeds.count], using: &generator)
            input.withUnsafeBytes { WebUIFuzzing.check($0) }
        }
    }

    @Test("a trace's spans in tree order (TraceTree, as the CLI's): parents first, siblings by start, orphans and cycles at the top; a 20,000-deep chain does not exhaust the stack")
    func treeOrder() {
        let id = TraceID(high: 1, low: 1)
        func span(_ spanID: UInt64, parent: UInt64?, start: UInt64) -> QueryAPI.Span {
            QueryAPI.Span(
                traceID: id, spanID: SpanID(spanID), parentSpanID: parent.map(SpanID.init), service: "s", name: "n\(spanID)", kind: "internal",
                startTimeUnixNano: start, endTimeUnixNano: start + 10, status: QueryAPI.Status(code: "unset", message: ""),
                attributes: [:], resource: [:], events: [], links: [])
        }
        let spans = [
            span(3, parent: 1, start: 30), span(2, parent: 1, start: 20), span(1, parent: nil, start: 10),
            span(4, parent: 2, start: 25), span(5, parent: 99, start: 5),
            span(6, parent: 7, start: 1), span(7, parent: 6, start: 2),
        ]
        let ordered = TraceTree(spans: spans).rows
        let ids: [UInt64] = [5, 1, 2, 4, 3, 6, 7]
        let depths: [Int] = [0, 0, 1, 2, 1, 0, 1]
        #expect(ordered.map(\.span.spanID) == ids.map { SpanID($0) })
        #expect(ordered.map(\.depth) == depths)

        var chain: [QueryAPI.Span] = []
        for index in UInt64(1)...20_000 {
            let parent: UInt64? = index == 1 ? nil : index - 1
            chain.append(span(index, parent: parent, start: index))
        }
        let deep = TraceTree(spans: chain).rows
        #expect(deep.count == 20_000)
        #expect(deep.last?.depth == 19_999)
        let page = WebPages(authenticated: false).trace(QueryAPI.Trace(traceID: id, spans: Array(chain.prefix(200))), logs: nil)
        #expect(!page.contains("Sign out"), "no sign-out without tokens")
        #expect(page.components(separatedBy: "<i class=\"bar").count == 201, "a bar per span")
    }

    @Test("sessions: valid until they expire, closed on sign-out, never more than the capacity however many sign in")
    func sessions() {
        let sessions = WebSessions(lifetimeNanos: 1_000, capacity: 3)
        let first = sessions.open(nowUnixNano: 100)
        #expect(first.count == 32 && first.allSatisfy(\.isHexDigit))
        #expect(sessions.isValid(first, nowUnixNano: 1_099))
        #expect(!sessions.isValid(first, nowUnixNano: 1_100), "expired")
        #expect(!sessions.isValid(first, nowUnixNano: 500), "an expired session is forgotten")
        var opened: [String] = []
        for round in 0..<2_000 { opened.append(sessions.open(nowUnixNano: 2_000 + UInt64(round))) }
        #expect(sessions.count == 3)
        #expect(Set(opened).count == 2_000, "every session ID is new")
        #expect(sessions.isValid(opened.last!, nowUnixNano: 3_999), "the newest stay")
        #expect(!sessions.isValid(opened[0], nowUnixNano: 2_001), "the oldest went")
        sessions.close(opened.last!)
        #expect(!sessions.isValid(opened.last!, nowUnixNano: 3_999))
        let forever = WebSessions(lifetimeNanos: .max).open(nowUnixNano: .max - 1)
        #expect(!forever.isEmpty, "a lifetime past the end of time saturates")

        #expect(WebSessions.ids(inCookieHeader: "a=1; periscope_session=abc; b=2; periscope_session=def") == ["abc", "def"])
        #expect(WebSessions.ids(inCookieHeader: "periscope_session=") == [])
        #expect(WebSessions.ids(inCookieHeader: "xperiscope_session=abc") == [])
        #expect(WebSessions.ids(inCookieHeader: nil) == [])
    }

    @Test("after sign-in only a page of the UI is gone on to; a page's limit is capped; long values are cut; a span ID two spans share shows both")
    func guards() throws {
        #expect(WebUIRoutes.nextPage("/ui/traces/abc?x=1") == "/ui/traces/abc?x=1")
        for hostile in ["https://evil.example/", "//evil.example/ui/", "/ui//evil", "/ui/../api/v1/traces", "/ui\\evil", "/uix", nil, "/ui/a b", "/ui/\u{0}"] {
            #expect(WebUIRoutes.nextPage(hostile) == "/ui/", "\(String(describing: hostile))")
        }
        #expect(try WebUIRoutes.limited(QueryParameters(query: "limit=100000"), default: 50).integer("limit", in: 1...1_000_000, default: 0) == 1_000)
        #expect(try WebUIRoutes.limited(QueryParameters(query: "service=a"), default: 50).integer("limit", in: 1...1_000_000, default: 0) == 50)
        #expect(WebUIRoutes.limited(QueryParameters(query: "limit=abc"), default: 50).string("limit") == "abc", "left for the API to refuse")
        let long = String(repeating: "e\u{301}", count: 5_000)
        #expect(HTML.clipped(long).count == HTML.maxShownCharacters + 1, "cut between characters, never inside one")
        #expect(HTML.clipped(long).hasSuffix("e\u{301}…"))
        #expect(HTML.clipped("short") == "short")
        #expect(HTML.text(String(repeating: "<", count: 10_000)).count == HTML.maxShownCharacters * 4 + 1, "every value shown is cut")
        for hostile in ["/ui/%2e%2e/api/v1/traces", "/ui/.%2e/healthz", String(repeating: "/ui/a", count: 300)] {
            #expect(WebUIRoutes.nextPage(hostile) == "/ui/", "\(hostile)")
        }

        let id = TraceID(high: 1, low: 1)
        func span(_ spanID: UInt64, parent: UInt64?, name: String) -> QueryAPI.Span {
            QueryAPI.Span(
                traceID: id, spanID: SpanID(spanID), parentSpanID: parent.map(SpanID.init), service: "s", name: name, kind: "internal",
                startTimeUnixNano: 10, endTimeUnixNano: 20, status: QueryAPI.Status(code: "unset", message: ""),
                attributes: [:], resource: [:], events: [], links: [])
        }
        let shared = TraceTree(spans: [span(1, parent: nil, name: "a"), span(1, parent: nil, name: "b"), span(2, parent: 1, name: "c")]).rows
        #expect(shared.map(\.span.name).sorted() == ["a", "b", "c"], "every span once")
    }

    @Test("a log search the read budget cut links to the older lines from the same start; an all-time search keeps all time")
    func olderLinesLink() {
        var answer = QueryAPI.Logs(logs: [])
        answer.truncated = true
        answer.resumeUnixNano = 5_000
        let pages = WebPages(authenticated: true)
        let form = WebPages.Form([("contains", "needle"), ("since", "6h")])
        let page = pages.logs(form, answer: answer, searchedFrom: 1_000, searchedTo: 9_000, error: nil)
        let stuck = pages.logs(form, answer: answer, searchedFrom: 1_000, searchedTo: 5_000, error: nil)
        #expect(!stuck.contains("Search the older lines") && stuck.contains("narrow the search"), "a bound at the end asks the same again: no link")
        #expect(page.contains("href=\"/ui/logs?contains=needle&amp;start=1000&amp;end=5000\""), "\(page)")
        let all = pages.logs(WebPages.Form([("trace_id", "ab")]), answer: answer, searchedFrom: nil, error: nil)
        #expect(all.contains("href=\"/ui/logs?trace_id=ab&amp;since=all&amp;end=5000\""), "\(all)")
        #expect(!pages.trace(QueryAPI.Trace(traceID: id, spans: []), logs: nil).contains("/api/v1/"), "no API link a signed-in browser could not follow")
    }

    let id = TraceID(high: 9, low: 9)

    @Test("an SLO's page: its budget as a line of every point, its burn rates and alert history; its name escaped, and linked from the list by one path segment")
    func sloPage() {
        let name = "a/b <c>"
        let status = QueryAPI.SLOStatus(
            name: name, service: "checkout", operation: nil, indicator: "availability", objective: 99.9, windowSeconds: 2_592_000,
            total: 1_000, good: 990, sli: 0.99, errorBudget: 0.001, budgetRemaining: -9, burnRates: [QueryAPI.BurnRate(window: "1h", seconds: 3_600, rate: 10)],
            timeToExhaustionSeconds: 0, alerts: [QueryAPI.BurnRateAlert(severity: "page", longWindow: "1h", shortWindow: "5m", threshold: 14.4, firing: false)])
        let history = (0..<30).map { QueryAPI.BudgetPoint(timeUnixNano: UInt64($0) * 1_000_000_000, budgetRemaining: 1 - Double($0) / 3) }
        let detail = QueryAPI.SLODetail(status: status, budgetHistory: history, alertEvents: [
            QueryAPI.AlertEvent(timeUnixNano: 5_000_000_000, slo: name, severity: "page", firing: true),
        ])
        let page = WebPages(authenticated: true).slo(detail)
        #expect(!page.contains("failed requests over the window"), "no chart without traffic")
        let row = QueryAPI.SignalRow(service: "checkout", operation: nil, requests: 30, requestsPerSecond: 1, errors: 3, errorRatio: 0.1, errorTypes: [:],
                                     latency: nil, failureLatency: nil, saturation: nil, series: [10, 10, 10], errorSeries: [0, 1, 2])
        let charted = WebPages(authenticated: true).slo(detail, traffic: (row, 3_600))
        #expect(charted.contains("Its service's requests and failed requests over the window") && charted.contains("<svg class=\"chart traffic\""))
        #expect(charted.contains("<polyline class=\"errors\"") && charted.contains("30 requests, 3 failed (10.00%), per 1h"))
        #expect(page.contains("<h1>SLO a/b &lt;c&gt;</h1>"))
        #expect(!page.contains("<c>"))
        let points = page.components(separatedBy: "points=\"").last?.prefix { $0 != "\"" } ?? ""
        #expect(points.split(separator: " ").count == 30, "a point per budget sample")
        #expect(page.contains("exhausted"))
        #expect(page.contains("fired"))
        let list = WebPages(authenticated: true).slos(QueryAPI.SLOList(evaluatedAtUnixNano: 0, slos: [status]), error: nil)
        #expect(list.contains("href=\"/ui/slos/a%2Fb%20%3Cc%3E\""), "\(list)")

        // Filtered by service, and the least budget left first (a non-finite budget last), else as configured.
        func named(_ name: String, _ service: String, budget: Double) -> QueryAPI.SLOStatus {
            var copy = status
            copy.name = name
            copy.service = service
            copy.budgetRemaining = budget
            return copy
        }
        let three = QueryAPI.SLOList(evaluatedAtUnixNano: 0, slos: [
            named("fine", "Checkout", budget: 0.9), named("nan", "search", budget: .nan), named("burnt", "checkout-api", budget: -2),
            named("gone", "strict", budget: -.infinity),
        ])
        func order(_ html: String) -> [String] {
            html.components(separatedBy: "<td><a href=\"/ui/slos/").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        }
        let pages = WebPages(authenticated: true)
        #expect(order(pages.slos(three, error: nil)) == ["fine", "nan", "burnt", "gone"])
        #expect(order(pages.slos(three, form: WebPages.Form([("sort", "budget")]), error: nil)) == ["gone", "burnt", "fine", "nan"],
                "an infinitely overspent budget first, an unknown one last")
        #expect(order(pages.slos(three, form: WebPages.Form([("service", "CHECKOUT")]), error: nil)) == ["fine", "burnt"])
        #expect(pages.slos(three, form: WebPages.Form([("service", "<x>")]), error: nil).contains("No SLO's service holds “&lt;x&gt;”"))
    }

    @Test("find in a trace: matches marked and counted, the rest dimmed, case-insensitive, in names, attributes and span IDs; each span's log lines in its details; a followed log search reloads")
    func findAndSpanLogs() throws {
        func span(_ spanID: UInt64, parent: UInt64?, _ service: String, _ name: String, attributes: [String: AttributeValue] = [:]) -> QueryAPI.Span {
            QueryAPI.Span(
                traceID: id, spanID: SpanID(spanID), parentSpanID: parent.map(SpanID.init), service: service, name: name, kind: "server",
                startTimeUnixNano: 10 + spanID, endTimeUnixNano: 50, status: QueryAPI.Status(code: "unset", message: ""),
                attributes: attributes, resource: [:], events: [], links: [])
        }
        let trace = QueryAPI.Trace(traceID: id, spans: [
            span(1, parent: nil, "web", "GET /checkout"), span(2, parent: 1, "payments", "Charge Card"),
            span(3, parent: 1, "db", "query", attributes: ["db.statement": .string("SELECT * FROM cards")]),
        ])
        let pages = WebPages(authenticated: true)
        func classes(_ html: String) -> [String] {
            html.components(separatedBy: "<div class=\"").filter { $0.hasPrefix("row") && !$0.hasPrefix("row head") }
                .map { String($0.prefix { $0 != "\"" }) }
        }
        let card = pages.trace(trace, logs: nil, find: " CARD ")
        #expect(card.contains("2 of 3 spans match “card”"))
        #expect(classes(card) == ["row unmatched", "row match", "row match"])
        #expect(pages.trace(trace, logs: nil, find: SpanID(2).hex).contains("1 of 3 spans match"))
        #expect(!pages.trace(trace, logs: nil).contains("spans match"))
        #expect(classes(pages.trace(trace, logs: nil)) == ["row", "row", "row"], "nothing marked when nothing is looked for")
        let hostile = pages.trace(trace, logs: nil, find: "\"><script>")
        #expect(!hostile.contains("<script>") && hostile.contains("value=\"&quot;&gt;&lt;script&gt;\""))

        let logs = QueryAPI.Logs(logs: [1, 2].map { n in
            QueryAPI.Log(timeUnixNano: 20 + n, observedTimeUnixNano: 20, service: "payments", severityNumber: 17, severityText: "",
                         body: .string("declined <\(n)>"), attributes: [:], traceID: id, spanID: SpanID(2))
        })
        let withLogs = pages.trace(trace, logs: logs)
        #expect(withLogs.contains("Charge Card <span class=\"dim\">· 2 logs</span>"))
        #expect(withLogs.contains("ERROR declined &lt;1&gt;<br>"), "the span's own lines in its details")

        // A followed search reads the last hour at most, and on to now.
        let now = WallClock.nowUnixNano()
        let hour = WebUIRoutes.maxFollowedNanos
        let fromAllTime = try WebUIRoutes.followed(QueryParameters(query: "trace_id=ab&end=5"))
        #expect(try fromAllTime.time("start")! >= now - hour && fromAllTime.time("end") == nil && fromAllTime.string("trace_id") == "ab")
        let recent = String(now - 60_000_000_000)
        #expect(try WebUIRoutes.followed(QueryParameters(query: "start=\(recent)")).time("start") == UInt64(recent), "a later start is kept")
        let followed = pages.logs(WebPages.Form([("follow", "on")]), answer: QueryAPI.Logs(logs: []), error: nil)
        #expect(followed.contains("<meta http-equiv=\"refresh\" content=\"5\">") && followed.contains("name=\"follow\" value=\"on\" checked"))
        #expect(!pages.logs(WebPages.Form([]), answer: QueryAPI.Logs(logs: []), error: nil).contains("http-equiv"))
    }

    @Test("a trace past the detailed rows: every span drawn, each row a link to its span's page and no details inline; the span page shows its details, logs, parent and children, every span sharing its ID, and says when there is none")
    func largeTraceAndSpanPage() throws {
        func span(_ spanID: UInt64, parent: UInt64?, _ name: String, attributes: [String: AttributeValue] = [:]) -> QueryAPI.Span {
            QueryAPI.Span(
                traceID: id, spanID: SpanID(spanID), parentSpanID: parent.map(SpanID.init), service: "svc", name: name, kind: "server",
                startTimeUnixNano: 10 + spanID, endTimeUnixNano: 50, status: QueryAPI.Status(code: "unset", message: ""),
                attributes: attributes, resource: [:], events: [], links: [])
        }
        let trace = QueryAPI.Trace(traceID: id, spans: [
            span(1, parent: nil, "GET /checkout"), span(2, parent: 1, "charge", attributes: ["card.brand": .string("<visa>")]),
            span(3, parent: 1, "query"), span(3, parent: 1, "query again"), span(4, parent: 9, "orphan"),
        ])
        let pages = WebPages(authenticated: true)
        let small = pages.trace(trace, logs: nil)
        #expect(small.components(separatedBy: "<details class=\"depth-").count - 1 == 5, "at most detailedSpans spans: details inline")
        #expect(!small.contains("/spans/"))

        let large = pages.trace(trace, logs: nil, detailedSpans: 4)
        #expect(large.contains("A trace of over 4 spans: each span's attributes"))
        #expect(!large.contains("<details class=\"depth-") && !large.contains("card.brand"), "no details inline")
        #expect(large.components(separatedBy: "<i class=\"bar").count - 1 == 5, "every span drawn")
        #expect(large.contains("<div class=\"span depth-1\" role=\"cell\"><a href=\"/ui/traces/\(id.hex)/spans/\(SpanID(2).hex)\"><span class=\"service\">svc</span> charge</a></div>"))
        #expect(pages.trace(trace, logs: nil, find: "charge", detailedSpans: 4).contains("1 of 5 spans match"), "find works on linked rows too")
        // A linked row's only way to its details is its link: a span whose service and name show
        // nothing (empty, spaces, zero-width or other default-ignorable characters) links by its ID.
        var blank = trace
        blank.spans[1].service = " "
        blank.spans[1].name = "\u{200B}\u{FEFF}\u{0301}\u{2800}"
        blank.spans[2].service = ""
        blank.spans[2].name = "\u{202E}"
        blank.spans[4].service = ""
        blank.spans[4].name = ""
        let blankPage = pages.trace(blank, logs: nil, detailedSpans: 4)
        #expect(blankPage.contains("\(SpanID(2).hex)\"><span class=\"dim\">span \(SpanID(2).hex)</span></a>"), "an invisible label links by the span's ID")
        #expect(blankPage.contains("┄</span> <span class=\"dim\">span \(SpanID(4).hex)</span></a>"), "an empty one too, after its orphan mark")
        #expect(blankPage.contains("<span class=\"service\"></span> \\u{202e}</a>"), "an escaped override shows, so no ID is added")
        #expect(blankPage.components(separatedBy: "<span class=\"dim\">span ").count - 1 == 2)
        #expect(HTML.showsNothing("") && HTML.showsNothing(" \t\n\u{3000}\u{3164}\u{034F}\u{2800}"))
        #expect(!HTML.showsNothing("a") && !HTML.showsNothing("\r") && !HTML.showsNothing("\u{0600}") && !HTML.showsNothing("\u{20DD}") && !HTML.showsNothing("\u{1680}"))
        #expect(!HTML.showsNothing(String(repeating: "\u{200B}", count: HTML.maxShownCharacters + 1)), "a clipped value ends in a shown …")

        let logs = QueryAPI.Logs(logs: [QueryAPI.Log(
            timeUnixNano: 20, observedTimeUnixNano: 20, service: "svc", severityNumber: 17, severityText: "",
            body: .string("declined <1>"), attributes: [:], traceID: id, spanID: SpanID(2))])
        let charge = pages.span(SpanID(2), of: trace, logs: logs)
        #expect(charge.contains("card.brand</th><td>&lt;visa&gt;"))
        #expect(charge.contains("ERROR declined &lt;1&gt;"), "its own log lines")
        #expect(charge.contains("child of <a href=\"/ui/traces/\(id.hex)/spans/\(SpanID(1).hex)\">") && charge.contains("· 0 children"))
        #expect(pages.span(SpanID(1), of: trace, logs: nil).contains("a root span · 3 children"), "both spans with ID 3 count")
        let shared = pages.span(SpanID(3), of: trace, logs: nil)
        #expect(shared.contains("2 spans of this trace have this ID") && shared.contains("query again"))
        #expect(pages.span(SpanID(4), of: trace, logs: nil).contains("child of \(SpanID(9).hex) (not in the trace)"))
        #expect(pages.span(SpanID(7), of: trace, logs: nil).contains("The trace has no span with this ID."))
        var cut = trace
        cut.totalSpans = 9
        #expect(pages.span(SpanID(7), of: cut, logs: nil).contains("no span with this ID among its first 5 spans by start time"))
        let cutCharge = pages.span(SpanID(4), of: cut, logs: nil)
        #expect(cutCharge.contains("looked for among its first 5 by start time") && cutCharge.contains("(not in the trace's first 5 spans)"))
        #expect(pages.span(SpanID(1), of: cut, logs: nil).contains("3 children among those"))
        // A span that names itself its parent is an orphan, as in the waterfall, and not its own child.
        let selfParent = QueryAPI.Trace(traceID: id, spans: [span(5, parent: 5, "loop")])
        #expect(pages.span(SpanID(5), of: selfParent, logs: nil).contains("child of \(SpanID(5).hex) (not in the trace) · 0 children"))
        // Many spans sharing an ID: the first 64 shown, and the page says so.
        let crowd = QueryAPI.Trace(traceID: id, spans: (0..<70).map { _ in span(6, parent: nil, "same") })
        let crowded = pages.span(SpanID(6), of: crowd, logs: nil)
        #expect(crowded.contains("70 spans of this trace have this ID") && crowded.contains("the first 64 are shown"))
        #expect(crowded.components(separatedBy: "<h2>").count - 1 == 64)
    }

    @Test("the services the traces form offers: read once a minute however many ask at once, the last list kept when a read fails, at most 500")
    func serviceNames() async {
        /// Counts the store reads; each answers `result`, or fails when it is nil.
        final class Store: Sendable {
            let reads = Mutex(0)
            func read(_ result: [String]?) async throws -> [String] {
                reads.withLock { $0 += 1 }
                guard let result else { throw CancellationError() }
                return result
            }
            var count: Int { reads.withLock { $0 } }
        }
        let names = ServiceNames()
        let store = Store()
        let minute = ServiceNames.maxAgeNanos
        let many = (0..<900).map { "service-\($0)" }
        // Fifty pages at one moment: one read; the others offer what there was (nothing yet).
        let first = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<50 { group.addTask { await names.names(nowUnixNano: minute) { try await store.read(many) } } }
            return await group.reduce(into: [[String]]()) { $0.append($1) }
        }
        #expect(store.count == 1)
        #expect(first.contains { $0.count == ServiceNames.maxNames } && first.allSatisfy { $0.isEmpty || $0 == Array(many.prefix(500)) })
        #expect(await names.names(nowUnixNano: 2 * minute - 1) { try await store.read(["other"]) }.count == 500, "within the minute: no read")
        #expect(store.count == 1)
        #expect(await names.names(nowUnixNano: 2 * minute) { try await store.read(nil) }.count == 500, "a failed read keeps the last list")
        #expect(store.count == 2)
        #expect(await names.names(nowUnixNano: 3 * minute) { try await store.read(["a", "b"]) } == ["a", "b"], "a minute after the failure, read again")
        #expect(await names.names(nowUnixNano: 10) { try await store.read(["back"]) } == ["back"], "a clock that went back reads again")
    }

    @Test("sessions opened from many tasks at once never pass the capacity, and every ID is new")
    func concurrentSessions() async {
        let sessions = WebSessions(lifetimeNanos: 3_600_000_000_000, capacity: 100)
        let ids = await withTaskGroup(of: [String].self) { group in
            for task in 0..<8 {
                group.addTask { (0..<500).map { sessions.open(nowUnixNano: UInt64(task * 1_000 + $0)) } }
            }
            return await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(ids.count == 4_000 && Set(ids).count == 4_000)
        #expect(sessions.count == 100)
        #expect(ids.filter { sessions.isValid($0, nowUnixNano: 10_000) }.count == 100)
    }

    @Test("a cut log answer reads on from its bound, unless the bound is the range's own edge; a whole answer has none")
    func readsOn() {
        let cut = QueryAPI.Logs(logs: [], truncated: true, resumeUnixNano: 500)
        #expect(cut.readsOn(newestFirst: true, start: nil, end: nil) == 500)
        #expect(cut.readsOn(newestFirst: true, start: nil, end: 500) == nil, "newest first, the bound is the end")
        #expect(cut.readsOn(newestFirst: false, start: 100, end: nil) == 500)
        #expect(cut.readsOn(newestFirst: false, start: 500, end: nil) == nil, "oldest first, the bound is the start")
        #expect(cut.readsOn(newestFirst: false, start: nil, end: nil) == 500)
        let atEnd = QueryAPI.Logs(logs: [], truncated: true, resumeUnixNano: UInt64(Int64.max))
        #expect(atEnd.readsOn(newestFirst: true, start: nil, end: .max) == nil, "an open end is the latest time")
        #expect(QueryAPI.Logs(logs: [], truncated: false, resumeUnixNano: 500).readsOn(newestFirst: true, start: nil, end: nil) == nil)
        #expect(QueryAPI.Logs(logs: [], truncated: true).readsOn(newestFirst: true, start: nil, end: nil) == nil)
    }

    @Test("the UI's paths are /, /ui and below it, never a path that climbs out")
    func uiPaths() {
        #expect(WebUIRoutes.isUIPath("/"))
        #expect(WebUIRoutes.isUIPath("/ui"))
        #expect(WebUIRoutes.isUIPath("/ui/traces/abc"))
        #expect(!WebUIRoutes.isUIPath("/ui/../api/v1/traces"))
        #expect(!WebUIRoutes.isUIPath("/ui/./x"))
        #expect(!WebUIRoutes.isUIPath("/uix"))
        #expect(!WebUIRoutes.isUIPath("/api/v1/traces"))
        #expect(!WebUIRoutes.isUIPath("//ui"))
    }

    @Test("since: an age becomes a start, all leaves it open, a start given wins, and nonsense is refused")
    func since() throws {
        let filled = try WebUIRoutes.since(QueryParameters(query: "since=1h"), default: "15m")
        let start = try #require(try filled.time("start"))
        #expect(start <= WallClock.nowUnixNano() - 3_600_000_000_000 + 1_000_000_000)
        #expect(try WebUIRoutes.since(QueryParameters(query: "since=all"), default: "1h").time("start") == nil)
        #expect(try WebUIRoutes.since(QueryParameters(query: "start=5&since=1h"), default: "1h").time("start") == 5)
        #expect(throws: QueryParameters.Invalid.self) { try WebUIRoutes.since(QueryParameters(query: "since=5x"), default: "1h") }
        #expect(throws: QueryParameters.Invalid.self) { try WebUIRoutes.since(QueryParameters(query: "since=999999999999d"), default: "1h") }
        let old = try WebUIRoutes.since(QueryParameters(query: "since=100000d"), default: "1h")
        #expect(try old.time("start") == 0, "an age before 1970 starts at 0")
    }
}
