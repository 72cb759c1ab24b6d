@testable import PeriscopeCollector
import PeriscopeModel
import PeriscopeQueryAPI
import Testing

@Suite("the dependencies, compare and scatter views: layout, drawing and tables")
struct ServiceGraphTests {
    func edge(_ caller: String, _ callee: String, _ calls: Int = 10, errors: Int = 0) -> QueryAPI.Dependency {
        QueryAPI.Dependency(caller: caller, callee: callee, calls: calls, errors: errors)
    }

    func columns(_ graph: ServiceGraph) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: graph.nodes.map { ($0.name, $0.column) })
    }

    @Test("callers sit left of their callees: a chain, a diamond, and a service reached by a long and a short path")
    func layers() {
        #expect(columns(ServiceGraph([edge("a", "b"), edge("b", "c")])) == ["a": 0, "b": 1, "c": 2])
        #expect(columns(ServiceGraph([edge("a", "b"), edge("a", "c"), edge("b", "d"), edge("c", "d")])) == ["a": 0, "b": 1, "c": 1, "d": 2])
        // d is called by a directly and through b and c: it sits right of the longest path.
        #expect(columns(ServiceGraph([edge("a", "d"), edge("a", "b"), edge("b", "c"), edge("c", "d")])) == ["a": 0, "b": 1, "c": 2, "d": 3])
    }

    @Test("a cycle is broken where the walk from the services nothing calls closes it; a self-call leaves the layout alone")
    func cycles() {
        // admin → payments → frontend → checkout → payments (the end-to-end data set's cycle).
        let graph = ServiceGraph([
            edge("frontend", "checkout"), edge("checkout", "payments"), edge("payments", "frontend"), edge("admin", "payments"),
            edge("frontend", "cart"), edge("cart", "cart"),
        ])
        let placed = columns(graph)
        #expect(placed["admin"] == 0, "only admin calls without being called")
        #expect(placed["payments"] == 1 && placed["frontend"] == 2 && placed["checkout"] == 3 && placed["cart"] == 3, "\(placed)")
        // A cycle with no way in: every service still has a place, each once.
        let ring = ServiceGraph([edge("x", "y"), edge("y", "z"), edge("z", "x")])
        #expect(Set(ring.nodes.map(\.column)) == [0, 1, 2])
        #expect(ServiceGraph([edge("solo", "solo")]).nodes.map(\.name) == ["solo"])
    }

    @Test("rows: no two services share a place; failed calls mark their callee")
    func places() {
        let graph = ServiceGraph((0..<30).map { edge("root", "leaf-\($0)", errors: $0 == 7 ? 2 : 0) } + [edge("leaf-3", "deep")])
        let places = graph.nodes.map { [$0.column, $0.row] }
        #expect(Set(places).count == graph.nodes.count)
        #expect(graph.nodes.first { $0.name == "leaf-7" }?.failedCalls == 2)
        #expect(graph.nodes.filter { $0.failedCalls > 0 }.count == 1)
    }

    @Test("a chain of 20,000 services and a complete graph of 150 are laid out without exhausting the stack")
    func large() {
        let chain = ServiceGraph((0..<20_000).map { edge("s\($0)", "s\($0 + 1)") })
        #expect(chain.nodes.count == 20_001)
        #expect(chain.nodes.map(\.column).max() == 20_000)
        let names = (0..<150).map { "n\($0)" }
        let complete = ServiceGraph(names.flatMap { a in names.filter { $0 != a }.map { edge(a, $0) } })
        #expect(complete.nodes.count == 150)
        #expect(Set(complete.nodes.map { [$0.column, $0.row] }).count == 150)
    }

    @Test("the drawing: a box per service linking to its traces, a curve per call, failed ones red; names escaped and cut")
    func drawing() {
        let long = String(repeating: "x", count: 40)
        let graph = ServiceGraph([edge("<b>web</b>", "api", 1_000, errors: 3), edge("api", "db", 5), edge("db", "api", 1), edge("api", "api", 2), edge("api", long)])
        let svg = graph.svg(since: "6h")
        #expect(svg.components(separatedBy: "<rect class=\"service").count - 1 == 4)
        #expect(svg.components(separatedBy: "<g class=\"call").count - 1 == 5)
        #expect(svg.components(separatedBy: "<g class=\"call failed\"").count - 1 == 1)
        #expect(svg.contains("<rect class=\"service failed\""), "api has failed calls in")
        #expect(!svg.contains("<b>"))
        #expect(svg.contains("&lt;b&gt;web&lt;/b&gt;"))
        #expect(svg.contains("href=\"/ui/?service=%3Cb%3Eweb%3C%2Fb%3E&amp;since=6h\""))
        #expect(svg.contains(">\(String(repeating: "x", count: 21))…</text>"), "a long name is cut in its box")
        #expect(svg.contains("<title>\(long)</title>"), "and whole in its tooltip")
        #expect(svg.contains(">1000 · 3 failed</text>"))
        #expect(svg.components(separatedBy: "<g class=\"call back\"").count - 1 == 1, "db → api closes the cycle api → db")
        // Every point drawn lies inside the picture (a call back into the first column included).
        let ring = ServiceGraph([edge("a", "b"), edge("b", "c"), edge("c", "a"), edge("c", "b")]).svg(since: "1h")
        let size = ring.components(separatedBy: "viewBox=\"0 0 ")[1].prefix { $0 != "\"" }.split(separator: " ").compactMap { Double($0) }
        let coordinates = ring.components(separatedBy: " d=\"").dropFirst().flatMap { path in
            path.prefix { $0 != "\"" }.split(whereSeparator: { $0 == " " || $0 == "M" || $0 == "C" || $0 == "L" || $0 == "z" })
                .compactMap { pair -> (Double, Double)? in
                    let parts = pair.split(separator: ",").compactMap { Double($0) }
                    return parts.count == 2 ? (parts[0], parts[1]) : nil
                }
        }
        #expect(size.count == 2 && coordinates.count > 10)
        #expect(coordinates.allSatisfy { $0.0 >= 0 && $0.1 >= 0 && $0.0 <= size[0] && $0.1 <= size[1] }, "\(coordinates) in \(size)")
    }

    @Test("the page: a table of every call busiest first, a note when the read budget cut the range, none drawn past the limit")
    func page() {
        let pages = WebPages(authenticated: true)
        let answer = QueryAPI.Dependencies(edges: [edge("a", "b", 5), edge("b", "c", 50, errors: 5)], spansRead: 900, truncated: true)
        let html = pages.dependencies(WebPages.Form([("since", "6h")]), answer: answer, error: nil)
        #expect(html.contains("<svg class=\"graph\""))
        #expect(html.contains("after 900 spans"))
        let rows = html.components(separatedBy: "<table class=\"results calls\">").last?.components(separatedBy: "<tr").dropFirst(2) ?? []
        #expect(rows.count == 2)
        #expect(rows.first?.contains(">50<") == true, "the busiest call first")
        #expect(rows.first?.contains("10.00%") == true)

        let crowded = (0..<1_200).map { edge("caller-\($0 % 120)", "callee-\($0)", $0 + 1) }
        let big = pages.dependencies(WebPages.Form([]), answer: QueryAPI.Dependencies(edges: crowded), error: nil)
        #expect(!big.contains("<svg class=\"graph\""))
        #expect(big.contains("1320 services call each other: too many to draw"))
        #expect(big.contains("Showing the busiest 1000 of 1200 calls."))
        #expect(big.components(separatedBy: "<tr").count - 2 == 1_000)
        #expect(big.contains(">1200<") && !big.contains(">200<"), "the least busy left out")

        // A service name too long to search for whole is shown clipped, with no link (a link per row of it would be huge).
        let huge = String(repeating: "é", count: 3_000)
        let long = pages.dependencies(WebPages.Form([]), answer: QueryAPI.Dependencies(edges: [edge(huge, "db"), edge("web", huge)]), error: nil)
        #expect(!long.contains("%C3%A9%C3%A9"), "no link carries the name")
        #expect(long.contains(String(repeating: "é", count: 2_048) + "…"))
        #expect(long.contains("href=\"/ui/?service=db&amp;since=1h\""), "the short names keep theirs")

        let empty = pages.dependencies(WebPages.Form([]), answer: QueryAPI.Dependencies(edges: []), error: nil)
        #expect(empty.contains("No calls between services in this range"))
    }

    @Test("a sparkline: a point per step up to 120, longer series summed in groups, an idle one flat")
    func sparkline() {
        func points(_ svg: String) -> [Substring] {
            (svg.components(separatedBy: "points=\"").last?.prefix { $0 != "\"" } ?? "").split(separator: " ")
        }
        #expect(WebPages.sparkline([4], stepSeconds: 60) == "–")
        // Failures, on the requests' scale, as a second (red) line; none drawn when nothing failed.
        let failing = WebPages.sparkline([0, 10, 10], errors: [0, 5, 10], stepSeconds: 60)
        #expect(points(failing) == ["0.0,22.0", "60.0,12.0", "120.0,2.0"], "the failures' line: 5 of 10 halfway up")
        #expect(failing.contains("<polyline class=\"errors\"") && failing.contains("15 failed"))
        #expect(!WebPages.sparkline([0, 10, 10], errors: [0, 0, 0], stepSeconds: 60).contains("errors"))
        #expect(!WebPages.sparkline([0, 10, 10], errors: [1], stepSeconds: 60).contains("errors"), "a series of another length is not drawn")
        #expect(points(WebPages.sparkline([0, 5, 10], stepSeconds: 60)) == ["0.0,22.0", "60.0,12.0", "120.0,2.0"])
        let long = WebPages.sparkline(Array(repeating: 3, count: 1_000), stepSeconds: 60)
        #expect(points(long).count == 112, "groups of 9 steps")
        #expect(long.contains("requests per 9m, at most 27"))
        #expect(Set(points(WebPages.sparkline([0, 0, 0], stepSeconds: 60)).map { $0.split(separator: ",")[1] }) == ["22.0"])
        // Extreme counts and steps draw (an overflow would trap here).
        #expect(WebPages.sparkline([Int.max, Int.max, -5], stepSeconds: Int.max).contains("at most \(Int.max)"))
    }

    func span(_ id: UInt64, parent: UInt64?, _ service: String, _ name: String, start: UInt64, end: UInt64) -> QueryAPI.Span {
        QueryAPI.Span(
            traceID: TraceID(high: 7, low: 7), spanID: SpanID(id), parentSpanID: parent.map(SpanID.init), service: service, name: name, kind: "server",
            startTimeUnixNano: start, endTimeUnixNano: end, status: QueryAPI.Status(code: "unset", message: ""),
            attributes: [:], resource: [:], events: [], links: [])
    }

    @Test("compare: calls by path with both durations, what only one trace has marked, slower and faster marked past a tenth, names escaped")
    func comparePage() {
        let a = QueryAPI.Trace(traceID: TraceID(high: 1, low: 1), spans: [
            span(1, parent: nil, "web", "GET /", start: 0, end: 100), span(2, parent: 1, "db", "<select>", start: 10, end: 30),
            span(3, parent: 1, "cache", "get", start: 40, end: 45),
        ])
        let b = QueryAPI.Trace(traceID: TraceID(high: 2, low: 2), spans: [
            span(1, parent: nil, "web", "GET /", start: 0, end: 105), span(2, parent: 1, "db", "<select>", start: 10, end: 90),
            span(4, parent: 1, "queue", "put", start: 91, end: 95),
        ])
        let html = WebPages(authenticated: true).compare(TraceComparison(a, b), cutA: false, cutB: true)
        let rows = Array(html.components(separatedBy: "<tbody>").last?.components(separatedBy: "<tr").dropFirst() ?? [])
        #expect(rows.count == 4)
        #expect(rows.filter { $0.contains("only in A") }.count == 1 && rows.filter { $0.hasPrefix(" class=\"only-a\"") }.count == 1)
        #expect(rows.filter { $0.contains("only in B") }.count == 1 && rows.filter { $0.hasPrefix(" class=\"only-b\"") }.count == 1)
        #expect(html.contains("db: &lt;select&gt;") && !html.contains("<select>"))
        #expect(html.contains("<span class=\"slower\">+60ns (+300.0%)</span>"), "db: 20 ns → 80 ns")
        #expect(!rows[0].contains("slower") && rows[0].contains("+5ns (+5.0%)"), "web: within a tenth")
        #expect(html.contains("Only the first 2000 spans of B are compared"))
        #expect(rows[1].contains("depth-1"), "callees indented")
        #expect(WebPages(authenticated: true).compareForm(a: "\"><b>", b: "", error: "x").contains("value=\"&quot;&gt;&lt;b&gt;\""))
    }

    @Test("the scatter plot: a dot per trace linking to it, failed ones red, inside the picture; none for a single trace")
    func scatter() {
        func summary(_ n: UInt64, start: UInt64, duration: UInt64, errors: Int) -> QueryAPI.TraceSummary {
            QueryAPI.TraceSummary(traceID: TraceID(high: 0, low: n), startTimeUnixNano: start, durationNanos: duration, rootService: "<svc>", rootName: "op",
                                  spanCount: 1, errorCount: errors, services: ["<svc>"])
        }
        #expect(WebPages.scatter([summary(1, start: 5, duration: 5, errors: 0)]).isEmpty)
        let traces = (1...50).map { summary($0, start: $0 * 1_000, duration: $0 * 10, errors: $0 % 10 == 0 ? 1 : 0) } + [summary(51, start: .max, duration: .max, errors: 0)]
        let svg = WebPages.scatter(traces)
        #expect(svg.components(separatedBy: "<circle ").count - 1 == 51)
        #expect(svg.components(separatedBy: "class=\"trace failed\"").count - 1 == 5)
        #expect(svg.contains("href=\"/ui/traces/\(TraceID(high: 0, low: 7).hex)\""))
        #expect(!svg.contains("<svc>"))
        let xs = svg.components(separatedBy: "cx=\"").dropFirst().compactMap { Double($0.prefix { $0 != "\"" }) }
        let ys = svg.components(separatedBy: "cy=\"").dropFirst().compactMap { Double($0.prefix { $0 != "\"" }) }
        #expect(xs.count == 51 && xs.allSatisfy { (0...1_000).contains($0) } && ys.allSatisfy { (0...160).contains($0) })
        let same = WebPages.scatter([summary(1, start: 9, duration: 0, errors: 0), summary(2, start: 9, duration: 0, errors: 0)])
        #expect(same.contains("cx=\"530.0\""), "one instant: the middle")
    }
}
