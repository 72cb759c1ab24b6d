import ServiceLifecycle

/// Reads the metrics factory every interval and hands the snapshot to the exporter; on graceful
/// shutdown (or cancellation) it exports once more, so the final totals reach the agent.
struct MetricsExportLoop: Sendable {
    let metrics: PeriscopeMetrics
    let exporter: OTLPExporter

    /// One collection and export; nothing is sent while no series has a value.
    func exportNow() async {
        let snapshot = metrics.collect()
        guard !snapshot.isEmpty else { return }
        await exporter.export(metrics: snapshot)
    }

    func run(shutdownTimeout: Duration) async {
        let interval = max(metrics.configuration.exportInterval, OTLPExporter.shortestInterval)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await exporter.timeline.sleep(for: interval) } catch { break }
                await exportNow()
            }
        }
        // Not inheriting our cancellation, like the exporter's final flush; bounded by its own deadline.
        let finalExport = Task { _ = await withDeadline(shutdownTimeout, on: exporter.timeline) { await self.exportNow() } }
        await finalExport.value
    }
}
