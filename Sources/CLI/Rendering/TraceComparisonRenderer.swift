import Foundation
import PeriscopeModel
import PeriscopeQueryAPI

/// `periscope compare A B`: the comparison as an indented table.
///
/// ```
/// A 4bf92f3577b3  10.0ms  5 spans
/// B abcdef012345  14.0ms  6 spans  +4.00ms  +40.0%
///
///   CALL                               A              B     CHANGE
///   frontend: GET /checkout       10.0ms         14.0ms    +4.00ms  +40.0%
///     cart: load cart             2.00ms    2 × 6.00ms     +4.00ms   +200%
/// + payments: refund                   –         1.00ms  only in B
/// ```
struct TraceComparisonRenderer: Sendable {
    var width: Int
    var style: Style = .plain

    func render(_ comparison: TraceComparison) -> String {
        let a = comparison.a, b = comparison.b
        var lines = [
            style.bold("A \(a.traceID.hex)") + "  " + DurationFormat.string(nanos: a.durationNanos) + "  " + Text.plural(a.spanCount, "span"),
            style.bold("B \(b.traceID.hex)") + "  " + DurationFormat.string(nanos: b.durationNanos) + "  " + Text.plural(b.spanCount, "span")
                + "  " + change(a.durationNanos, b.durationNanos, present: (true, true)),
            "",
        ]
        func cell(_ spans: Int, _ total: UInt64) -> String {
            spans == 0 ? "–" : (spans > 1 ? "\(spans) × " : "") + DurationFormat.string(nanos: total)
        }
        let cellsA = comparison.rows.map { cell($0.spansA, $0.totalNanosA) }
        let cellsB = comparison.rows.map { cell($0.spansB, $0.totalNanosB) }
        let widthA = max(1, cellsA.map(Text.width).max() ?? 0), widthB = max(1, cellsB.map(Text.width).max() ?? 0)
        let labels = comparison.rows.map { String(repeating: "  ", count: min($0.depth, 20)) + Text.sanitize($0.call) }
        let changeWidth = 17
        let labelWidth = min(max(4, labels.map(Text.width).max() ?? 0), max(20, width - 2 - widthA - widthB - changeWidth - 6))
        func line(_ mark: String, _ label: String, _ cellA: String, _ cellB: String, _ change: String) -> String {
            Text.trimTrailingSpaces(
                mark + " " + Text.padRight(Text.truncate(label, to: labelWidth), labelWidth) + "  " + Text.padLeft(cellA, widthA) + "  "
                    + Text.padLeft(cellB, widthB) + "  " + change)
        }
        lines.append(style.dim(line(" ", "CALL", "A", "B", "CHANGE")))
        for (index, row) in comparison.rows.enumerated() {
            let mark = row.spansA == 0 ? "+" : row.spansB == 0 ? "-" : " "
            let text = line(mark, labels[index], cellsA[index], cellsB[index], change(row.totalNanosA, row.totalNanosB, present: (row.spansA > 0, row.spansB > 0)))
            lines.append(row.spansA == 0 ? style.color(text, .green) : row.spansB == 0 ? style.color(text, .red) : text)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// B's total against A's: `+4.00ms  +40.0%`, `only in A`, `only in B`; red when slower by
    /// more than a tenth, green when faster by as much.
    func change(_ a: UInt64, _ b: UInt64, present: (a: Bool, b: Bool)) -> String {
        guard present.a else { return "only in B" }
        guard present.b else { return "only in A" }
        let difference = b >= a ? "+" + DurationFormat.string(nanos: b - a) : "-" + DurationFormat.string(nanos: a - b)
        let percent: String
        if a == 0 {
            percent = b == 0 ? "0.0%" : "new"
        } else {
            let value = (Double(b) - Double(a)) / Double(a) * 100
            percent = (value >= 0 ? "+" : "") + String(format: abs(value) >= 100 ? "%.0f" : "%.1f", value) + "%"
        }
        let text = difference + "  " + Text.padLeft(percent, 6)
        switch TraceComparison.Trend(a, b) {
        case .slower: return style.color(text, .red)
        case .faster: return style.color(text, .green)
        case .similar: return text
        }
    }
}
