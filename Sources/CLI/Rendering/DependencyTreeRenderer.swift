import PeriscopeQueryAPI

/// The service dependency graph as an indented tree from its roots (services no other
/// service calls), each edge with its calls and error ratio:
///
/// ```
/// frontend
/// ├─ cart        120 calls   0.0% errors
/// └─ checkout     80 calls   2.5% errors
///    ├─ ↺ frontend (cycle)  3 calls   0.0% errors
///    └─ payments  80 calls  12.5% errors
/// ```
///
/// A callee already on the path from the root is a cycle: marked `↺` and not followed. A
/// callee whose own calls were drawn earlier says so instead of drawing them again. Services
/// only reachable through a cycle get a tree of their own.
struct DependencyTreeRenderer: Sendable {
    var width: Int = 120
    var style: Style = .plain

    static let cycleMark = "↺"

    struct Row: Equatable, Sendable {
        var prefix: String
        var name: String
        var edge: QueryAPI.Dependency?
        var isCycle = false
        var shownAbove = false
    }

    /// The rows in drawing order.
    static func rows(_ dependencies: QueryAPI.Dependencies) -> [Row] {
        var outgoing: [String: [QueryAPI.Dependency]] = [:]
        var callees: Set<String> = []
        var nodes: Set<String> = []
        for edge in dependencies.edges {
            outgoing[edge.caller, default: []].append(edge)
            nodes.insert(edge.caller)
            nodes.insert(edge.callee)
            if edge.caller != edge.callee { callees.insert(edge.callee) }
        }
        for key in outgoing.keys { outgoing[key]?.sort { $0.callee < $1.callee } }

        var rows: [Row] = []
        var expanded: Set<String> = []

        func walk(_ node: String, childPrefix: String, path: [String]) {
            expanded.insert(node)
            let edges = outgoing[node] ?? []
            for (index, edge) in edges.enumerated() {
                let last = index == edges.count - 1
                let prefix = childPrefix + (last ? "└─ " : "├─ ")
                if path.contains(edge.callee) {
                    rows.append(Row(prefix: prefix, name: edge.callee, edge: edge, isCycle: true))
                } else if expanded.contains(edge.callee) {
                    rows.append(Row(prefix: prefix, name: edge.callee, edge: edge, shownAbove: !(outgoing[edge.callee] ?? []).isEmpty))
                } else {
                    rows.append(Row(prefix: prefix, name: edge.callee, edge: edge))
                    walk(edge.callee, childPrefix: childPrefix + (last ? "   " : "│  "), path: path + [edge.callee])
                }
            }
        }

        let roots = nodes.subtracting(callees).sorted()
        for root in roots {
            rows.append(Row(prefix: "", name: root))
            walk(root, childPrefix: "", path: [root])
        }
        // Whatever only cycles reach: start from the first service not drawn yet.
        while let next = nodes.subtracting(expanded).filter({ outgoing[$0] != nil }).sorted().first {
            rows.append(Row(prefix: "", name: next))
            walk(next, childPrefix: "", path: [next])
        }
        return rows
    }

    func render(_ dependencies: QueryAPI.Dependencies) -> String {
        let rows = Self.rows(dependencies)
        let labels = rows.map { row -> String in
            var label = row.prefix
            if row.isCycle { label += Self.cycleMark + " " }
            label += Text.sanitize(row.name)
            if row.isCycle { label += " (cycle)" }
            return label
        }
        let calls = rows.map { $0.edge.map { Text.plural($0.calls, "call") } ?? "" }
        let ratios = rows.map { $0.edge.map { Self.percent(errors: $0.errors, calls: $0.calls) + " errors" } ?? "" }
        let callsWidth = calls.map(Text.width).max() ?? 0
        let ratioWidth = ratios.map(Text.width).max() ?? 0
        let statsWidth = callsWidth + ratioWidth + 4
        let labelWidth = min(labels.map(Text.width).max() ?? 0, max(16, width - statsWidth))

        var lines: [String] = []
        for (index, row) in rows.enumerated() {
            let label = Text.truncate(labels[index], to: labelWidth)
            var line: String
            if row.prefix.isEmpty {
                line = style.bold(label)
            } else {
                line = style.dim(row.prefix) + String(label.dropFirst(row.prefix.count))
                if row.isCycle { line = style.dim(row.prefix) + style.color(String(label.dropFirst(row.prefix.count)), .yellow) }
            }
            if let edge = row.edge {
                let ratio = Text.padLeft(ratios[index], ratioWidth)
                line += String(repeating: " ", count: max(0, labelWidth - Text.width(label))) + "  "
                    + Text.padLeft(calls[index], callsWidth) + "  " + (edge.errors > 0 ? style.color(ratio, .red) : ratio)
                if row.shownAbove { line += style.dim("  (its calls are shown above)") }
            }
            lines.append(Text.trimTrailingSpaces(line))
        }
        return lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
    }

    /// `12.5%`, `0%` when nothing failed, `<0.1%` for rare errors.
    static func percent(errors: Int, calls: Int) -> String {
        guard calls > 0, errors > 0 else { return "0%" }
        let value = Double(errors) * 100 / Double(calls)
        if value < 0.1 { return "<0.1%" }
        // More errors than calls is a server's mistake; it prints as it is rather than trap.
        guard value <= 100 else { return String(format: "%g%%", value) }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }
}
