import Foundation
import PeriscopeModel
import PeriscopeQueryAPI

/// The calls between services: the graph and its table.
extension WebPages {
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
}
