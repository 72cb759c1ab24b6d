import PeriscopeModel
import PeriscopeQueryAPI

/// Draws a trace as a waterfall: one row per span in tree order, with its offset, duration
/// and a bar placed on a shared timeline.
///
/// ```
/// trace 4bf92f3577b34da6a3ce929d0e0e4736 · 10.0ms · 5 spans · 4 services · 1 error
///
///   SPAN                            START  DURATION  0s                     10.0ms
/// * frontend: GET /checkout            0s    10.0ms  █████████████████████████████
///   ├─ cart: load cart             1.00ms    2.00ms     ██████
///   │  └─ cart: SELECT cart_items  1.20ms     850µs     ████
/// * └─ ✗ payments: charge card     4.00ms    5.00ms              ███████████████
///   ┄ search: suggest              6.00ms    1.50ms                   ██████
///
/// * critical path: the spans that determined the trace's duration
/// ┄ 1 span whose parent is not in the trace, shown as a root
/// ```
///
/// With `logs`, each log line is printed under the span it belongs to (by span ID), in time
/// order, at its offset from the trace's start; lines of no span of the trace follow the
/// waterfall.
///
/// Pure: the same trace, width and style always give the same text.
struct WaterfallRenderer: Sendable {
    /// Total line width to fit.
    var width: Int
    var verbose: Bool = false
    var style: Style = .plain

    static let minimumBarWidth = 10
    static let minimumLabelWidth = 16
    static let gap = "  "

    static let errorMark = "✗"
    static let orphanMark = "┄"
    static let criticalMark = "*"
    static let criticalLegend = "critical path: the spans that determined the trace's duration"
    static let logMark = "▸"
    /// The gutter before each row that holds the critical-path mark.
    static let gutterWidth = 2

    func render(_ trace: QueryAPI.Trace, logs: [QueryAPI.Log]? = nil) -> String {
        let tree = TraceTree(spans: trace.spans)
        let critical = CriticalPath.spanIDs(in: trace.spans)
        let logsBySpan = Self.group(logs ?? [], spanIDs: Set(trace.spans.map(\.spanID)))
        var lines: [String] = [header(trace, tree: tree)]
        guard !tree.rows.isEmpty else { return lines.joined(separator: "\n") + "\n" }
        lines.append("")

        let services = Array(Set(trace.spans.map(\.service))).sorted()
        let serviceColor = Dictionary(uniqueKeysWithValues: services.enumerated().map {
            ($0.element, Style.servicePalette[$0.offset % Style.servicePalette.count])
        })

        // Column contents first, so widths fit what is shown.
        let labels = tree.rows.map { treePrefix($0) + markedLabel($0, style: .plain) }
        let starts = tree.rows.map { DurationFormat.string(nanos: $0.span.startTimeUnixNano - tree.startUnixNano) }
        let durations = tree.rows.map { DurationFormat.string(nanos: $0.span.durationNanos) }
        let startWidth = max(Text.width("START"), starts.map(Text.width).max() ?? 0)
        let durationWidth = max(Text.width("DURATION"), durations.map(Text.width).max() ?? 0)
        let fixed = Self.gutterWidth + startWidth + durationWidth + 3 * Self.gap.count
        let widestLabel = max(Text.width("SPAN"), labels.map(Text.width).max() ?? 0)
        let labelCap = max(Self.minimumLabelWidth, min(width - fixed - Self.minimumBarWidth, (width - fixed) * 3 / 5))
        let labelWidth = min(widestLabel, labelCap)
        let barWidth = max(Self.minimumBarWidth, width - fixed - labelWidth)

        let total = DurationFormat.string(nanos: tree.durationNanos)
        let scale = tree.durationNanos == 0 ? "0s" : Text.padRight("0s", barWidth - Text.width(total)) + total
        lines.append(Text.trimTrailingSpaces(style.dim(
            String(repeating: " ", count: Self.gutterWidth) + Text.padRight("SPAN", labelWidth) + Self.gap + Text.padLeft("START", startWidth) + Self.gap
                + Text.padLeft("DURATION", durationWidth) + Self.gap + scale)))

        var logsShown: Set<SpanID> = []
        for (index, row) in tree.rows.enumerated() {
            let span = row.span
            let prefix = treePrefix(row)
            let plainLabel = Text.truncate(labels[index], to: labelWidth)
            // Re-style the label after truncation: colour codes must not be cut in half.
            let label = styledLabel(plainLabel, prefix: prefix, row: row, serviceColor: serviceColor[span.service])
            let bar = Self.bar(
                offset: span.startTimeUnixNano - tree.startUnixNano, duration: span.durationNanos,
                total: tree.durationNanos, width: barWidth)
            let barText = String(repeating: " ", count: bar.lowerBound)
                + (span.isFailed
                    ? style.color(String(repeating: "█", count: bar.count), .red)
                    : style.color(String(repeating: "█", count: bar.count), serviceColor[span.service] ?? .cyan))
            let gutter = critical.contains(span.spanID)
                ? style.boldColor(Self.criticalMark, .yellow) + String(repeating: " ", count: Self.gutterWidth - 1)
                : String(repeating: " ", count: Self.gutterWidth)
            let line = gutter + label + String(repeating: " ", count: max(0, labelWidth - Text.width(plainLabel))) + Self.gap
                + Text.padLeft(starts[index], startWidth) + Self.gap
                + Text.padLeft(durations[index], durationWidth) + Self.gap + barText
            lines.append(Text.trimTrailingSpaces(line))
            if verbose {
                lines += details(row, traceStart: tree.startUnixNano).map { Text.trimTrailingSpaces(Self.blankGutter + $0) }
            }
            if let spanLogs = logsBySpan.bySpan[span.spanID], logsShown.insert(span.spanID).inserted {
                let indent = Self.blankGutter + style.dim(detailPrefix(row))
                let room = width - Self.gutterWidth - Text.width(detailPrefix(row))
                lines += spanLogs.map { Text.trimTrailingSpaces(indent + logLine($0, traceStart: tree.startUnixNano, width: room)) }
            }
        }

        if !logsBySpan.unattached.isEmpty {
            lines.append("")
            lines.append(style.dim("logs of no span in this trace:"))
            lines += logsBySpan.unattached.map {
                Text.trimTrailingSpaces(Self.blankGutter + logLine($0, traceStart: tree.startUnixNano, width: width - Self.gutterWidth))
            }
        }

        lines.append("")
        lines.append(style.dim(Text.truncate(Self.criticalMark + " " + Self.criticalLegend, to: width)))

        let orphanCount = tree.rows.filter(\.isOrphan).count
        if orphanCount > 0 {
            lines.append(style.dim("\(Self.orphanMark) " + (orphanCount == 1
                ? "1 span whose parent is not in the trace, shown as a root"
                : "\(orphanCount) spans whose parents are not in the trace, shown as roots")))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `trace <id> · 4.56ms · 5 spans · 3 services · 1 error`
    func header(_ trace: QueryAPI.Trace, tree: TraceTree) -> String {
        let services = Set(trace.spans.map(\.service)).count
        let errors = trace.spans.filter(\.isFailed).count
        var parts = [
            style.bold("trace \(trace.traceID.hex)"),
            DurationFormat.string(nanos: tree.durationNanos),
            Text.plural(trace.spans.count, "span"),
            Text.plural(services, "service"),
        ]
        let errorText = Text.plural(errors, "error")
        parts.append(errors > 0 ? style.boldColor(errorText, .red) : errorText)
        return parts.joined(separator: " · ")
    }

    /// The cells `[lower, upper)` a span covers in a bar of `width` cells spanning `total`
    /// nanoseconds: always at least one cell, never outside the bar.
    static func bar(offset: UInt64, duration: UInt64, total: UInt64, width: Int) -> Range<Int> {
        guard width > 0 else { return 0..<0 }
        guard total > 0 else { return 0..<1 }
        let scale = Double(width) / Double(total)
        let end = min(Double(offset) + Double(duration), Double(total))
        var lower = Int((Double(min(offset, total)) * scale).rounded(.down))
        var upper = Int((end * scale).rounded(.up))
        lower = min(max(lower, 0), width - 1)
        upper = min(max(upper, lower + 1), width)
        return lower..<upper
    }

    // MARK: - Rows

    static let blankGutter = String(repeating: " ", count: gutterWidth)

    /// Log records by the span they belong to, each group in time order; records without a
    /// span of this trace go to `unattached`.
    static func group(_ logs: [QueryAPI.Log], spanIDs: Set<SpanID>) -> (bySpan: [SpanID: [QueryAPI.Log]], unattached: [QueryAPI.Log]) {
        let sorted = logs.enumerated().sorted {
            let a = LogsRenderer.time(of: $0.element), b = LogsRenderer.time(of: $1.element)
            return a != b ? a < b : $0.offset < $1.offset
        }.map(\.element)
        var bySpan: [SpanID: [QueryAPI.Log]] = [:]
        var unattached: [QueryAPI.Log] = []
        for record in sorted {
            if let id = record.spanID, spanIDs.contains(id) {
                bySpan[id, default: []].append(record)
            } else {
                unattached.append(record)
            }
        }
        return (bySpan, unattached)
    }

    /// `▸ +4.20ms ERROR card declined` cut to `width` columns.
    func logLine(_ record: QueryAPI.Log, traceStart: UInt64, width: Int) -> String {
        let time = LogsRenderer.time(of: record)
        let offset = time >= traceStart
            ? "+" + DurationFormat.string(nanos: time - traceStart)
            : "-" + DurationFormat.string(nanos: traceStart - time)
        let level = LogsRenderer.level(of: record)
        let service = Text.sanitize(record.service)
        let message = Text.sanitize(record.body.text)
        let plain = Self.logMark + " " + offset + " " + level + " " + service + ": " + message
        let cut = Text.truncate(plain, to: max(1, width))
        guard style.enabled else { return cut }
        // Colour the level only when the cut left it whole.
        let head = Self.logMark + " " + offset + " "
        guard cut.hasPrefix(head + level + " ") else { return style.dim(cut) }
        return style.dim(head) + LogsRenderer(style: style).colored(level, severity: LogsRenderer.severity(of: record))
            + String(cut.dropFirst(head.count + level.count))
    }

    /// `│  ├─ ` style indentation for a row (roots have none).
    func treePrefix(_ row: TraceTree.Row) -> String {
        guard row.depth > 0 else { return "" }
        // Past `TraceTree.maxDrawnLevels` the levels not drawn are counted, so a child never looks like its parent's sibling.
        let skipped = row.depth - 1 - row.continuing.count
        return row.continuing.map { $0 ? "│  " : "   " }.joined() + (skipped > 0 ? "+\(skipped) " : "") + (row.isLast ? "└─ " : "├─ ")
    }

    /// Indentation for lines printed under a row (`-v`): keeps the tree's lines going.
    func detailPrefix(_ row: TraceTree.Row) -> String {
        var columns = row.continuing
        if row.depth > 0 { columns.append(!row.isLast) }
        return columns.map { $0 ? "│  " : "   " }.joined() + (row.hasChildren ? "│  " : "   ")
    }

    /// `┄ ✗ service: name` without the tree prefix.
    private func markedLabel(_ row: TraceTree.Row, style: Style) -> String {
        var label = ""
        if row.isOrphan { label += Self.orphanMark + " " }
        if row.span.isFailed { label += Self.errorMark + " " }
        return label + Text.sanitize(row.span.service) + ": " + Text.sanitize(row.span.name)
    }

    /// Colours a (possibly truncated) plain label: service in its colour, errors in red.
    private func styledLabel(_ plain: String, prefix: String, row: TraceTree.Row, serviceColor: Style.Color?) -> String {
        guard style.enabled else { return plain }
        var rest = Substring(plain)
        var out = ""
        if rest.hasPrefix(prefix) {
            out += style.dim(prefix)
            rest = rest.dropFirst(prefix.count)
        }
        if row.isOrphan, rest.hasPrefix(Self.orphanMark + " ") {
            out += style.color(Self.orphanMark, .yellow) + " "
            rest = rest.dropFirst(2)
        }
        if row.span.isFailed, rest.hasPrefix(Self.errorMark + " ") {
            out += style.boldColor(Self.errorMark, .red) + " "
            rest = rest.dropFirst(2)
        }
        let service = Text.sanitize(row.span.service) + ":"
        if rest.hasPrefix(service) {
            out += style.color(service, serviceColor ?? .cyan)
            rest = rest.dropFirst(service.count)
        }
        out += row.span.isFailed ? style.color(String(rest), .red) : String(rest)
        return out
    }

    /// `-v` lines: span ID and kind, attributes, status message, events and links.
    private func details(_ row: TraceTree.Row, traceStart: UInt64) -> [String] {
        let span = row.span
        let indent = style.dim(detailPrefix(row))
        var lines: [String] = []
        lines.append(indent + style.dim("span \(span.spanID.hex) · \(Text.sanitize(span.kind))"
            + (span.parentSpanID.map { " · parent \($0.hex)" } ?? "")))
        for key in span.attributes.keys.sorted() {
            lines.append(indent + style.color(Text.sanitize(key), .gray) + "=" + Text.sanitize(span.attributes[key]?.text ?? ""))
        }
        if !span.status.message.isEmpty {
            let text = "status \(Text.sanitize(span.status.code)): \(Text.sanitize(span.status.message))"
            lines.append(indent + (span.isFailed ? style.color(text, .red) : text))
        }
        for event in span.events.sorted(by: { $0.timeUnixNano < $1.timeUnixNano }) {
            let offset = DurationFormat.string(nanos: event.timeUnixNano >= traceStart ? event.timeUnixNano - traceStart : 0)
            var text = "event at \(offset): \(Text.sanitize(event.name))"
            if !event.attributes.isEmpty {
                text += " (" + event.attributes.keys.sorted().map {
                    Text.sanitize($0) + "=" + Text.sanitize(event.attributes[$0]?.text ?? "")
                }.joined(separator: ", ") + ")"
            }
            lines.append(indent + text)
        }
        for link in span.links {
            lines.append(indent + style.dim("link trace \(link.traceID.hex) span \(link.spanID.hex)"))
        }
        return lines
    }
}
