import Foundation
import PeriscopeBenchKit
import PeriscopeModel
import PeriscopeSDK

/// A Swift service instrumented with Periscope's SDK at its defaults, making spans and logs at
/// a steady rate into the agent: did its exporter drop anything (its own counters), and did the
/// collector store everything the exporter delivered?
struct SDKRate: Sendable {
    let spansPerSecond: Int
    let logsPerSecond: Int
    let seconds: Double
    let endpoints: HTTPEndpoints
    let drainTimeout: Duration

    struct Report: Codable, Sendable {
        var spansPerSecond: Int
        var logsPerSecond: Int
        var seconds: Double
        var madeSpans: Int
        var madeLogs: Int
        /// Wall seconds the making took (above `seconds` when the producer could not keep up).
        var makingSeconds: Double
        var droppedSpans: Int
        var droppedLogs: Int
        var failedSpans: Int
        var failedLogs: Int
        var exportedSpans: Int
        var exportedLogs: Int
        var storedSpans: Int
        var storedLogs: Int
        var serviceCPUSeconds: Double
        var lossless: Bool
    }

    func run() async -> Report {
        let exporter = OTLPExporter(
            resource: Resource(serviceName: "sdk-rate"),
            configuration: OTLPExporter.Configuration(endpoint: endpoints.agentURL))
        let loop = Task { await exporter.run() }
        let cpuBefore = ProcessStats.read(pid: getpid()).cpuSeconds
        let tick = 0.005
        let ticks = Int(seconds / tick)
        let started = ContinuousClock.now
        let startNanos = UInt64(Date().timeIntervalSince1970 * 1e9)
        var madeSpans = 0
        var madeLogs = 0
        for number in 0..<ticks {
            let spansDue = Int(Double(spansPerSecond) * tick * Double(number + 1)) - madeSpans
            let logsDue = Int(Double(logsPerSecond) * tick * Double(number + 1)) - madeLogs
            for _ in 0..<max(0, spansDue) {
                madeSpans += 1
                let id = UInt64(madeSpans)
                exporter.submit(Span(
                    traceID: TraceID(high: 0x5D4, low: id), spanID: SpanID(id), name: "GET /sdk-rate", kind: .server,
                    startTimeUnixNano: startNanos + id, endTimeUnixNano: startNanos + id + 1_000_000,
                    attributes: [Attribute("http.route", .string("/sdk-rate"))]))
            }
            for _ in 0..<max(0, logsDue) {
                madeLogs += 1
                exporter.submit(LogRecord(
                    timeUnixNano: startNanos + UInt64(madeLogs), severityNumber: .info, body: .string("request \(madeLogs) done")))
            }
            try? await Task.sleep(until: started + .seconds(tick * Double(number + 1)), clock: .continuous)
        }
        let makingSeconds = LoadDriver.milliseconds(ContinuousClock.now - started) / 1000
        await exporter.forceFlush(timeout: .seconds(60))
        let cpuAfter = ProcessStats.read(pid: getpid()).cpuSeconds
        loop.cancel()
        await loop.value
        let statistics = exporter.statistics
        let stored = await endpoints.waitUntilStored(spans: statistics.exportedSpans, logs: statistics.exportedLogs, timeout: drainTimeout)
        let storedSpans = stored["spans"] ?? 0
        let storedLogs = stored["logs"] ?? 0
        return Report(
            spansPerSecond: spansPerSecond, logsPerSecond: logsPerSecond, seconds: seconds,
            madeSpans: madeSpans, madeLogs: madeLogs, makingSeconds: makingSeconds,
            droppedSpans: statistics.droppedSpans, droppedLogs: statistics.droppedLogs,
            failedSpans: statistics.failedSpans, failedLogs: statistics.failedLogs,
            exportedSpans: statistics.exportedSpans, exportedLogs: statistics.exportedLogs,
            storedSpans: storedSpans, storedLogs: storedLogs,
            serviceCPUSeconds: cpuAfter - cpuBefore,
            lossless: statistics.droppedSpans + statistics.droppedLogs + statistics.failedSpans + statistics.failedLogs == 0
                && statistics.exportedSpans == madeSpans && statistics.exportedLogs == madeLogs
                && storedSpans == madeSpans && storedLogs == madeLogs
                && makingSeconds <= seconds * 1.05)
    }
}

extension SDKRate.Report {
    func table() -> String {
        """
        | offered | made in | dropped (queue full) | failed exports | exported | stored | service CPU s | lossless |
        | --- | --- | ---: | ---: | --- | --- | ---: | --- |
        | \(spansPerSecond) spans/s + \(logsPerSecond) logs/s × \(seconds) s | \(String(format: "%.2f", makingSeconds)) s \
        | \(droppedSpans) + \(droppedLogs) | \(failedSpans) + \(failedLogs) | \(exportedSpans) + \(exportedLogs) \
        | \(storedSpans) + \(storedLogs) | \(String(format: "%.2f", serviceCPUSeconds)) | \(lossless ? "yes" : "no") |
        """
    }
}
