import Foundation
import PeriscopeSDK

/// Writes one line straight to standard output, unbuffered, so a parent process reading our
/// stdout (the demo, the end-to-end tests) sees it at once.
func printLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Writes one line to standard error, unbuffered.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// One line at exit saying what the SDK sent, dropped and failed to deliver: a run whose spans
/// or logs went missing shows at once whether they ever left the service.
func printExportSummary(_ service: String, _ statistics: Periscope.Statistics) {
    let exporter = statistics.exporter
    printError(
        "\(service): exported \(exporter.exportedSpans) spans, \(exporter.exportedLogs) log records, \(exporter.exportedMetricPoints) metric points; "
            + "dropped \(exporter.droppedSpans) spans, \(exporter.droppedLogs) log records; "
            + "failed \(exporter.failedSpans) spans, \(exporter.failedLogs) log records (\(exporter.failedExports) exports)")
}
