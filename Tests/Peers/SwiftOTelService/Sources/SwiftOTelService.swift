import Logging
import OTel
import ServiceLifecycle
import Tracing

/// Bootstraps swift-otel with its defaults (the `OTEL_*` environment overrides them as the
/// specification says), makes one server span with a child and one log record inside it, then
/// shuts down gracefully so everything is exported.
@main
enum SwiftOTelService {
    static func main() async throws {
        let observability = try OTel.bootstrap()
        let marker = CommandLine.arguments.dropFirst().first ?? "hello"
        let logger = Logger(label: "swift-otel-service")
        let group = ServiceGroup(configuration: .init(services: [observability], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            withSpan("GET /swift-otel/{marker}", ofKind: .server) { span in
                span.attributes["swift_otel.marker"] = marker
                withSpan("load \(marker)", ofKind: .internal) { _ in
                    logger.info("swift-otel says \(marker)")
                }
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
