import Foundation
import PeriscopeBenchKit

/// The web UI's pages over the benchmark's data (DESIGN §9: pages < 300 ms server time at 10M
/// spans; a 10,000-span trace usable in headless Chromium in < 1 s). A page's time is the
/// whole exchange on loopback, as for the API's queries: the server's time plus the transfer.
extension PeriscopeStoreBench {
    static let pageTargetMs: Double = 300

    /// The pages an engineer opens over the store workload's day of traces and logs.
    func storeWebPages(_ client: StoreClient, workload: StoreWorkload, traces: Int, start: UInt64, end: UInt64) async -> [String: StoreReport.Query] {
        var rng = SplitMix(seed: workload.ids.seed ^ 0x5745_4255_4950_4147)
        let range = "start=\(start)&end=\(end)"
        let repetitions = min(self.repetitions, 50), warmup = min(self.warmup, 3)
        func page(_ name: String, _ next: () -> String) async -> StoreReport.Query {
            await measure(client, name: "web UI: " + name, targetMs: Self.pageTargetMs, resultKey: nil,
                          repetitions: repetitions, warmup: warmup, next)
        }
        var pages: [String: StoreReport.Query] = [:]
        pages["traceSearch"] = await page("traces of a service+operation over 100 ms (24h)") {
            "/ui/?service=\(StoreWorkload.serviceName(rng.below(5)))&operation=\(StoreWorkload.operationName(rng.below(20)))&min_duration=100ms&\(range)"
        }
        pages["trace"] = await page("a trace's waterfall") {
            "/ui/traces/" + IDSource.hex(workload.ids.traceID(UInt64(rng.below(traces))))
        }
        pages["logsByCorrelationID"] = await page("a request's logs by correlation ID (24h)") {
            "/ui/logs?correlation_id=\(workload.correlationID(UInt64(rng.below(traces))))&\(range)"
        }
        pages["logsRecentByService"] = await page("a service's latest logs (15 min)") {
            "/ui/logs?service=\(StoreWorkload.serviceName(rng.below(5)))&start=\(end - 15 * 60 * 1_000_000_000)&end=\(end)"
        }
        pages["signals"] = await page("golden signals per service (24h)") { "/ui/signals?\(range)" }
        pages["dependencies"] = await page("dependencies (24h)") { "/ui/dependencies?\(range)" }
        return pages
    }

    /// The signals and SLO pages over `signalsDays` of hourly request spans and their SLOs.
    func signalsWebPages(_ client: StoreClient, services: Int, start: UInt64, end: UInt64) async -> [String: StoreReport.Query] {
        let range = "start=\(start)&end=\(end)"
        var next = 0
        func page(_ name: String, _ path: @escaping () -> String) async -> StoreReport.Query {
            await measure(client, name: "web UI: " + name, targetMs: Self.pageTargetMs, resultKey: nil,
                          repetitions: signalsRepetitions, warmup: 5, path)
        }
        var pages: [String: StoreReport.Query] = [:]
        pages["signals"] = await page("golden signals per service, \(signalsDays) d") { "/ui/signals?\(range)" }
        pages["signalsByOperation"] = await page("golden signals per operation, \(signalsDays) d") { "/ui/signals?\(range)&by=operation" }
        pages["slos"] = await page("SLO list") { "/ui/slos" }
        pages["slo"] = await page("one SLO with its traffic chart") {
            next += 1
            return "/ui/slos/\(SignalsWorkload.serviceName(next % services))-availability"
        }
        return pages
    }

    /// Stores one trace of `largeTraceSpans` spans, times its page on the server and then in
    /// headless Chromium.
    func largeTracePage(_ client: StoreClient, ids: IDSource, end: UInt64) async -> StoreReport.LargeTracePage? {
        guard largeTraceSpans > 0 else { return nil }
        let trace = LargeTrace(ids: ids, spans: largeTraceSpans, endNanos: end - 60_000_000_000)
        guard let before = await client.counts()?["spans"] else {
            print("  web UI: the collector's status did not answer; the large trace's page is not timed")
            return nil
        }
        for body in trace.bodies(perBody: 2_000) where await client.postOTLP(path: "/v1/traces", body: body) == nil {
            print("  web UI: the large trace could not be sent; its page is not timed")
            return nil
        }
        let stored = await client.waitStored(spans: before + largeTraceSpans, logs: 0, timeout: .seconds(120))
        guard stored["spans", default: 0] >= before + largeTraceSpans else {
            print("  web UI: the large trace was not stored within 120 s; its page is not timed")
            return nil
        }
        let path = "/ui/traces/" + IDSource.hex(trace.traceID)
        let page = await measure(client, name: "web UI: a \(largeTraceSpans)-span trace's waterfall", targetMs: Self.pageTargetMs, resultKey: nil,
                                 repetitions: min(repetitions, 20), warmup: min(warmup, 2)) { path }
        var report = StoreReport.LargeTracePage(spans: largeTraceSpans, page: page)
        do {
            let timing = try await browserTiming(url: client.baseURL + path)
            report.browser = timing
            print(String(format: "  web UI in headless Chromium, a %d-span trace: ready %.0f ms (load %.0f ms, server %.0f ms), %d rows drawn, %d bytes; median of %d",
                         largeTraceSpans, timing.median.ready, timing.median.load, timing.median.server, timing.rows ?? 0, timing.bytes, timing.runs.count))
        } catch {
            report.browserError = "\(error)"
            print("  web UI in headless Chromium: not timed: \(error)")
        }
        return report
    }

    struct BrowserTimingError: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `web_ui_timing.py` on `url` and decodes what it printed; past six minutes its
    /// process group (the script, chromedriver, Chromium) is killed.
    private func browserTiming(url: String) async throws -> StoreReport.BrowserTiming {
        guard FileManager.default.fileExists(atPath: webTimingScript) else {
            throw BrowserTimingError(description: "no \(webTimingScript) (run from the repository's root, or pass --web-timing-script)")
        }
        let process = Process()
        // A session of its own (setsid execs in place: the pid is the group's), so that a hang is
        // ended for the browser too.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = ["python3", webTimingScript, "--url", url, "--runs", String(browserRuns),
                             "--count-selector", "div.waterfall > div.row:not(.head)"]
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("web-ui-timing-\(getpid()).json")
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("web-ui-timing-\(getpid()).err")
        defer {
            try? FileManager.default.removeItem(at: output)
            try? FileManager.default.removeItem(at: errors)
        }
        guard FileManager.default.createFile(atPath: output.path, contents: nil),
              FileManager.default.createFile(atPath: errors.path, contents: nil) else {
            throw BrowserTimingError(description: "cannot create \(output.path)")
        }
        let outputHandle = try FileHandle(forWritingTo: output)
        defer { try? outputHandle.close() }
        let errorsHandle = try FileHandle(forWritingTo: errors)
        defer { try? errorsHandle.close() }
        process.standardOutput = outputHandle
        process.standardError = errorsHandle
        try process.run()
        let deadline = ContinuousClock.now + .seconds(360)
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(-process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw BrowserTimingError(description: "web_ui_timing.py ran past 360 s; killed with its browser")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let printed = try Data(contentsOf: output)
        guard process.terminationStatus == 0 else {
            let text = String(decoding: (try? Data(contentsOf: errors)) ?? Data(), as: UTF8.self)
            throw BrowserTimingError(description: "web_ui_timing.py exited \(process.terminationStatus): \(text.suffix(500))")
        }
        return try JSONDecoder().decode(StoreReport.BrowserTiming.self, from: printed)
    }
}
