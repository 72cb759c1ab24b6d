import ArgumentParser
import Logging
import PeriscopeSDK
import ServiceLifecycle

/// `periscope-example frontend`: the checkout service, sending N requests to the backend.
struct FrontendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frontend", abstract: "Send N traced checkout requests to the backend and print their trace IDs.")

    @OptionGroup var options: FrontendOptions

    @Option(help: "The backend's base URL, e.g. http://127.0.0.1:8080.")
    var backend: String

    func run() async throws {
        let periscope = try Periscope.bootstrap(options.periscopeConfiguration())
        try await Checkout.run(backend: backend, options: options, periscope: periscope)
    }
}

/// Options the frontend and the demo share.
struct FrontendOptions: ParsableArguments {
    @Option(help: "The Periscope agent's OTLP/HTTP endpoint.")
    var agent: String = "http://127.0.0.1:4318"

    @Option(help: "Number of checkout requests to send.")
    var requests: Int = 10

    @Option(help: "service.name reported for this process.")
    var service: String = "checkout"

    @Option(help: "Pause between requests, in milliseconds.")
    var intervalMs: Int = 0

    @Option(help: "Share of root traces to record, 0...1.")
    var samplingRatio: Double = 1.0

    @Option(help: "Also write each log record as a JSON line to this file.")
    var logFile: String?

    @Option(help: "A fault in the second half of the requests, for SLO demos: none, errors (a burst of 500s), latency (a 400 ms spike) or both.")
    var fault: Fault = .none

    func validate() throws {
        guard requests >= 0 else { throw ValidationError("--requests must be 0 or more") }
        guard intervalMs >= 0 else { throw ValidationError("--interval-ms must be 0 or more") }
        guard (0...1).contains(samplingRatio) else { throw ValidationError("--sampling-ratio must be within 0...1") }
    }

    func periscopeConfiguration() -> PeriscopeConfiguration {
        PeriscopeConfiguration(
            serviceName: service, agentEndpoint: agent, samplingRatio: samplingRatio,
            logLevel: .debug, logMirror: logFile.map { .file($0) })
    }
}

/// What goes wrong, on purpose, in the second half of a run.
enum Fault: String, ExpressibleByArgument, Sendable {
    case none, errors, latency, both

    /// The SKU to ask for instead of a normal one, or `nil` for no fault on this request.
    func sku(index: Int, requests: Int) -> String? {
        guard index > requests / 2 else { return nil }
        switch self {
        case .none: return nil
        case .errors: return "broken"
        case .latency: return "slow"
        case .both: return index % 2 == 0 ? "broken" : "slow"
        }
    }
}
