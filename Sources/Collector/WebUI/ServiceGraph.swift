import Foundation
import PeriscopeQueryAPI

/// Services laid out left to right by how far down the call chain they sit, so a request reads
/// from left to right: a service that only calls is in the first column, each callee at least
/// one column right of every caller. A cycle is broken where a depth-first walk meets a service
/// already on its path; that call is drawn as a curve back, below the boxes. Within a column,
/// services sit near the middle of their callers, which keeps crossings few.
struct ServiceGraph: Sendable {
    struct Node: Hashable, Sendable {
        var name: String
        var column: Int
        var row: Int
        /// Failed calls into the service.
        var failedCalls: Int
    }

    /// Services a graph draws; with more it is left out (the page's table lists every call).
    static let maxServices = 100
    /// Characters of a service name a box shows; the whole name is its tooltip.
    static let maxLabelCharacters = 22

    private(set) var nodes: [Node] = []
    let edges: [QueryAPI.Dependency]
    private var index: [String: Int] = [:]

    init(_ edges: [QueryAPI.Dependency]) {
        self.edges = edges
        let names = Set(edges.flatMap { [$0.caller, $0.callee] }).sorted()
        for (position, name) in names.enumerated() { index[name] = position }
        nodes = names.map { Node(name: $0, column: 0, row: 0, failedCalls: 0) }
        var callees = [Set<Int>](repeating: [], count: names.count)
        var callers = [Set<Int>](repeating: [], count: names.count)
        for edge in edges {
            guard let from = index[edge.caller], let to = index[edge.callee] else { continue }
            nodes[to].failedCalls &+= edge.errors
            guard from != to else { continue }
            callees[from].insert(to)
            callers[to].insert(from)
        }
        let order = Self.topologicalOrder(callees: callees.map { $0.sorted() }, roots: names.indices.filter { callers[$0].isEmpty })
        // Longest path from a first-column service, over the calls that go forward in `order`.
        var position = [Int](repeating: 0, count: names.count)
        for (rank, node) in order.enumerated() { position[node] = rank }
        for node in order {
            for callee in callees[node] where position[callee] > position[node] {
                nodes[callee].column = max(nodes[callee].column, nodes[node].column + 1)
            }
        }
        // Rows: the first column by name, each next one by where its callers sit.
        var rowOf = [Int](repeating: 0, count: names.count)
        let columns = Dictionary(grouping: names.indices, by: { nodes[$0].column })
        for column in columns.keys.sorted() {
            let members = columns[column] ?? []
            let placed = members.map { member -> (Int, Double) in
                let left = callers[member].filter { nodes[$0].column < column }
                let center = left.isEmpty ? Double.infinity : Double(left.reduce(0) { $0 + rowOf[$1] }) / Double(left.count)
                return (member, center)
            }.sorted { ($0.1, names[$0.0]) < ($1.1, names[$1.0]) }
            for (row, entry) in placed.enumerated() {
                rowOf[entry.0] = row
                nodes[entry.0].row = row
            }
        }
    }

    /// Every service once, callers before callees except where a call closes a cycle: the
    /// reverse of a depth-first walk's finishing order, started from services nothing calls.
    private static func topologicalOrder(callees: [[Int]], roots: [Int]) -> [Int] {
        var state = [UInt8](repeating: 0, count: callees.count)  // 0 unseen, 1 on the path, 2 done
        var finished: [Int] = []
        finished.reserveCapacity(callees.count)
        for start in roots + Array(callees.indices) where state[start] == 0 {
            var stack: [(node: Int, next: Int)] = [(start, 0)]
            state[start] = 1
            while let top = stack.last {
                if top.next < callees[top.node].count {
                    stack[stack.count - 1].next += 1
                    let callee = callees[top.node][top.next]
                    if state[callee] == 0 {
                        state[callee] = 1
                        stack.append((callee, 0))
                    }
                } else {
                    state[top.node] = 2
                    finished.append(top.node)
                    stack.removeLast()
                }
            }
        }
        return finished.reversed()
    }

    // MARK: - Drawing

    private static let boxWidth = 180.0
    private static let boxHeight = 36.0
    private static let columnStep = 270.0
    private static let rowStep = 60.0
    private static let margin = 24.0
    /// Room left of the first column for calls back into it.
    private static let leftMargin = 64.0
    /// Calls back run in lanes under the boxes, this far apart (the ninth shares the first's).
    private static let laneStep = 14.0
    private static let lanes = 8

    private func origin(_ node: Node) -> (x: Double, y: Double) {
        (Self.leftMargin + Double(node.column) * Self.columnStep, Self.margin + Double(node.row) * Self.rowStep)
    }

    /// The graph as SVG: a box per service (a link to its traces over `since`) and an arrow per
    /// call, as thick as the calls are many and red when any failed, labelled with its count.
    func svg(since: String) -> String {
        let columns = (nodes.map(\.column).max() ?? 0) + 1
        let rows = (nodes.map(\.row).max() ?? 0) + 1
        let width = Self.leftMargin + Self.margin + Double(columns - 1) * Self.columnStep + Self.boxWidth
        let bottom = Self.margin + Double(rows - 1) * Self.rowStep + Self.boxHeight
        let backCalls = edges.filter { edge in
            guard let from = index[edge.caller], let to = index[edge.callee] else { return false }
            return from != to && nodes[to].column <= nodes[from].column
        }.count
        let height = bottom + Self.margin + (backCalls > 0 ? 16 + Double(min(backCalls, Self.lanes)) * Self.laneStep : 0)
        var out = "<svg class=\"graph\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" "
            + "aria-label=\"\(nodes.count) services, \(edges.count) calls between them\">"
            + "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
            + "<path d=\"M0,0 L10,5 L0,10 z\"/></marker>"
            + "<marker id=\"arrow-failed\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
            + "<path class=\"failed\" d=\"M0,0 L10,5 L0,10 z\"/></marker></defs>"
        var lane = 0
        for edge in edges {
            guard let from = index[edge.caller].map({ nodes[$0] }), let to = index[edge.callee].map({ nodes[$0] }) else { continue }
            out += path(from: from, to: to, edge: edge, lane: bottom + 16 + Double(lane % Self.lanes) * Self.laneStep)
            if from != to && to.column <= from.column { lane += 1 }
        }
        for node in nodes {
            let (x, y) = origin(node)
            let label = node.name.count > Self.maxLabelCharacters ? String(node.name.prefix(Self.maxLabelCharacters - 1)) + "…" : node.name
            // A name too long to search for whole is drawn without a link (`HTML.link`).
            let search = [("service", node.name), ("since", since)]
            let linked = HTML.isLinkable(search)
            out += (linked ? "<a class=\"service\" href=\"/ui/?\(HTML.query(search))\">" : "<g class=\"service\">")
                + "<title>\(HTML.text(node.name))\(node.failedCalls > 0 ? ": \(node.failedCalls) failed calls into it" : "")</title>"
                + "<rect class=\"service\(node.failedCalls > 0 ? " failed" : "")\" x=\"\(Int(x))\" y=\"\(Int(y))\" width=\"\(Int(Self.boxWidth))\" height=\"\(Int(Self.boxHeight))\" rx=\"4\"/>"
                + "<text x=\"\(Int(x + Self.boxWidth / 2))\" y=\"\(Int(y + Self.boxHeight / 2 + 5))\">\(HTML.text(label))</text>\(linked ? "</a>" : "</g>")"
        }
        return out + "</svg>"
    }

    /// `lane`: the height a call back runs at, under every box.
    private func path(from: Node, to: Node, edge: QueryAPI.Dependency, lane: Double) -> String {
        let (x1, y1) = origin(from)
        let (x2, y2) = origin(to)
        let d: String
        let middle: (Double, Double)
        let back = from != to && to.column <= from.column
        func point(_ p: (Double, Double)) -> String { Self.number(p.0) + "," + Self.number(p.1) }
        if from == to {
            // A service calling itself: a loop off its right side.
            let right = x1 + Self.boxWidth
            let points = [(right, y1 + 10), (right + 45, y1 - 14), (right + 45, y1 + Self.boxHeight + 14), (right, y1 + Self.boxHeight - 10)]
            d = "M" + point(points[0]) + " C" + points[1...].map(point).joined(separator: " ")
            middle = (right + 34, y1 + Self.boxHeight / 2 + 4)
        } else if !back {
            let start = (x1 + Self.boxWidth, y1 + Self.boxHeight / 2)
            let end = (x2, y2 + Self.boxHeight / 2)
            let bend = (end.0 - start.0) / 2
            let points = [start, (start.0 + bend, start.1), (end.0 - bend, end.1), end]
            d = "M" + point(points[0]) + " C" + points[1...].map(point).joined(separator: " ")
            // The curve's middle (t = ½ of the cubic) carries the count.
            middle = ((points[0].0 + 3 * points[1].0 + 3 * points[2].0 + points[3].0) / 8,
                      (points[0].1 + 3 * points[1].1 + 3 * points[2].1 + points[3].1) / 8)
        } else {
            // A call back, closing a cycle: down from the caller to a lane under every box, along
            // it, up the gap left of the callee's column, and into the callee from its left.
            let gap = x2 - 36
            let entry = y2 + Self.boxHeight / 2
            d = "M" + point((x1 + Self.boxWidth / 2, y1 + Self.boxHeight)) + " L" + point((x1 + Self.boxWidth / 2, lane))
                + " L" + point((gap, lane)) + " L" + point((gap, entry)) + " L" + point((x2, entry))
            middle = ((x1 + Self.boxWidth / 2 + gap) / 2, lane)
        }
        let failed = edge.errors > 0
        let width = 1 + min(4, log10(Double(max(edge.calls, 1))))
        let title = "\(edge.caller) → \(edge.callee): \(edge.calls) calls" + (failed ? ", \(edge.errors) failed" : "") + (back ? " (back along a cycle)" : "")
        return "<g class=\"call\(back ? " back" : "")\(failed ? " failed" : "")\"><title>\(HTML.text(title))</title>"
            + "<path d=\"\(d)\" stroke-width=\"\(Self.number(width))\" marker-end=\"url(#\(failed ? "arrow-failed" : "arrow"))\"/>"
            + "<text x=\"\(Self.number(middle.0))\" y=\"\(Self.number(middle.1 - 4))\">\(edge.calls)\(failed ? " · \(edge.errors) failed" : "")</text></g>"
    }

    private static func number(_ value: Double) -> String { String(format: "%.1f", value) }
}
