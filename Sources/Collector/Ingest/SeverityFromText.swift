import PeriscopeLogLines
import PeriscopeModel

/// OTLP makes a log record's severity number optional: a sender may give only its text
/// (`"ERROR"`, `"warning"`). Such a record gets the number its text names — a level name the
/// tailer reads, or an OTLP number 1–24 — so `level=` and each block's highest severity see it as what it
/// says it is. The text is kept as sent; a record with a number keeps it.
enum SeverityFromText {
    static func apply(to batch: TelemetryBatch) -> TelemetryBatch {
        guard case .logs(var groups) = batch,
              groups.contains(where: { $0.scopes.contains { $0.records.contains { number(for: $0) != nil } } }) else { return batch }
        for group in groups.indices {
            for scope in groups[group].scopes.indices {
                for index in groups[group].scopes[scope].records.indices {
                    if let severity = number(for: groups[group].scopes[scope].records[index]) {
                        groups[group].scopes[scope].records[index].severityNumber = severity
                    }
                }
            }
        }
        return .logs(groups)
    }

    /// The number `record`'s text names, when it has no number of its own.
    static func number(for record: LogRecord) -> Severity? {
        guard record.severityNumber == .unspecified, !record.severityText.isEmpty, record.severityText.utf8.count <= 32 else { return nil }
        // A number is OTLP's own (1–24), not the tailer's bunyan-style 10/20/…/60.
        if let number = Int(record.severityText) { return (1...24).contains(number) ? Severity(rawValue: number) : nil }
        var text = record.severityText
        return text.withUTF8 { SeverityParser.named($0) }
    }
}
