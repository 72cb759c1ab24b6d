import Foundation
import Logging
import PeriscopeLogLines
import PeriscopeModel
import ServiceLifecycle

/// Runs the `TailEngine` as a service: polls every `pollInterval` (at once while a file is
/// behind) until graceful shutdown, finishing the round in progress (a batch being appended
/// is completed, not abandoned).
struct TailService: Service {
    let engine: TailEngine
    let pollInterval: Duration

    init(
        configuration: AgentConfiguration, sink: any TailBatchSink, redactor: Redactor, counters: TailCounters = TailCounters(),
        timeline: Timeline = .continuous, logger: Logger
    ) throws {
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        engine = try TailEngine(
            sources: configuration.tail.sources, redactor: redactor, defaultService: configuration.serviceName,
            checkpointPath: configuration.tailCheckpointPath, sink: sink, counters: counters,
            timeBounds: configuration.tail.timeBounds, timeline: timeline,
            maxOpenFiles: TailEngine.openFileBudget(limit: ProcessLimits.openFileLimit(), reserve: configuration.descriptorsBesidesTailing),
            logger: logger)
        pollInterval = configuration.tail.pollInterval
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // A file still behind is read on at once; the interval is for waiting on new lines.
            guard await !engine.poll() else { continue }
            try? await cancelWhenGracefulShutdown { try await engine.timeline.sleep(for: pollInterval) }
        }
        await engine.close()
    }
}
