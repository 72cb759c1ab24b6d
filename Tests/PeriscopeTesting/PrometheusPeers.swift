import Foundation

/// A real Prometheus or Alertmanager from Debian's packages (`prometheus`,
/// `prometheus-alertmanager`; `Scripts/install-prerequisites.sh` installs them), on a free
/// loopback port with its storage in a directory of its own, stopped with the value.
public final class PrometheusPeer: Sendable {
    public enum Kind: String, Sendable {
        case prometheus
        case alertmanager = "prometheus-alertmanager"
    }

    public let kind: Kind
    public let process: RunningProcess
    public let port: Int
    public let directory: TemporaryDirectory

    public var url: String { "http://127.0.0.1:\(port)" }

    private init(kind: Kind, process: RunningProcess, port: Int, directory: TemporaryDirectory) {
        (self.kind, self.process, self.port, self.directory) = (kind, process, port, directory)
    }

    /// Starts `kind` with `configuration` (YAML) and waits until it answers `/-/ready`; on
    /// `port` (a restart where the last one was) or a free one.
    public static func start(_ kind: Kind, configuration: String, port wanted: Int? = nil) async throws -> PrometheusPeer {
        let binary = URL(fileURLWithPath: "/usr/bin/\(kind.rawValue)")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw RunningProcess.StartError(description: "\(binary.path) is missing: run Scripts/install-prerequisites.sh (Debian's \(kind.rawValue))")
        }
        let directory = try TemporaryDirectory(kind.rawValue)
        let configFile = directory.file("config.yml")
        try configuration.write(to: configFile, atomically: true, encoding: .utf8)
        var lastError = ""
        for _ in 0..<(wanted == nil ? 5 : 1) {
            let port = wanted ?? FreePort.pick()
            let arguments = switch kind {
            case .prometheus:
                ["--config.file=\(configFile.path)", "--storage.tsdb.path=\(directory.file("data").path)",
                 "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn"]
            case .alertmanager:
                // An empty cluster address turns gossip off: no listener on 0.0.0.0:9094.
                ["--config.file=\(configFile.path)", "--storage.path=\(directory.file("data").path)",
                 "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=", "--log.level=warn"]
            }
            let process = try RunningProcess(binary, arguments, currentDirectory: directory.url)
            let deadline = ContinuousClock.now + .seconds(30)
            while process.isRunning && ContinuousClock.now < deadline {
                if let reply = try? await TestHTTP.get("http://127.0.0.1:\(port)/-/ready"), reply.status == 200 {
                    return PrometheusPeer(kind: kind, process: process, port: port, directory: directory)
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            lastError = process.standardError
            await process.stop()
        }
        throw RunningProcess.StartError(description: "\(kind.rawValue) did not start: \(lastError)")
    }

    public func stop() async { await process.stop() }
}
