import ArgumentParser
import Hummingbird
import Logging
import PeriscopeSDK
import ServiceLifecycle
import Tracing

/// `periscope-example backend`: the inventory service, answering `GET /inventory/:sku`.
struct BackendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backend", abstract: "Run the inventory HTTP service (GET /inventory/:sku).")

    @Option(help: "Address to listen on (port 0 picks a free port).")
    var listen: ListenAddress = ListenAddress(argument: "127.0.0.1:0")!

    @Option(help: "The Periscope agent's OTLP/HTTP endpoint.")
    var agent: String = "http://127.0.0.1:4318"

    @Option(help: "service.name reported for this process.")
    var service: String = "inventory"

    @Option(help: "Share of root traces to record, 0...1.")
    var samplingRatio: Double = 1.0

    @Option(help: "Also write each log record as a JSON line to this file.")
    var logFile: String?

    @Flag(help: .hidden)
    var exitOnStdinEOF = false

    func run() async throws {
        let periscope = try Periscope.bootstrap(PeriscopeConfiguration(
            serviceName: service, agentEndpoint: agent, samplingRatio: samplingRatio,
            logLevel: .debug, logMirror: logFile.map { .file($0) }))
        var logger = Logger(label: "periscope-example.backend")
        logger.logLevel = .info

        let host = listen.host
        let app = InventoryServer.makeApplication(
            address: listen, logger: logger, periscope: periscope,
            onListening: { port in
                printLine("backend listening on \(host):\(port)")
            })
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: periscope), .init(service: app)]
        if exitOnStdinEOF {
            services.append(.init(service: ParentWatch(), successTerminationBehavior: .gracefullyShutdownGroup))
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        defer { printExportSummary(service, periscope.statistics) }
        try await group.run()
    }
}
