import ArgumentParser
import Foundation
import PeriscopeDelivery

/// Options every command takes: where the collector is, how to authenticate, how to print.
struct GlobalOptions: ParsableArguments {
    static let defaultCollector = "http://127.0.0.1:4400"

    @Option(
        name: .customLong("collector"),
        help: ArgumentHelp(
            "The collector's base URL (default: $PERISCOPE_COLLECTOR, else \(GlobalOptions.defaultCollector)).",
            valueName: "URL"))
    var collector: String?

    @Option(
        name: .customLong("token-file"),
        help: ArgumentHelp(
            "File holding the bearer token: its first line that is not blank or a # comment (default: the token in $PERISCOPE_TOKEN).",
            valueName: "FILE"))
    var tokenFile: String?

    @Flag(name: .customLong("json"), help: "Print the collector's JSON document (pretty, sorted keys) instead of text.")
    var json = false

    @Option(
        name: .customLong("color"),
        help: ArgumentHelp("Colour output: auto (only on a terminal, and not when NO_COLOR is set), always or never.", valueName: "WHEN"))
    var color: ColorMode = .auto

    @Option(name: .customLong("timeout"), help: ArgumentHelp("Seconds to wait for the collector's answer.", valueName: "SECONDS"))
    var timeout: Int = 30

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    /// What a command needs, with flags, environment and terminal taken into account.
    struct Settings: Sendable, Equatable {
        var collectorURL: String
        var token: String?
        var json: Bool
        var useColor: Bool
        var timeoutSeconds: Int64
    }

    func settings(environment: [String: String], stdoutIsTerminal: Bool) throws -> Settings {
        let collectorText = collector ?? environment["PERISCOPE_COLLECTOR"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultCollector
        return Settings(
            // An agent's list of collectors sharing a store (`a,b`) answers from any: the first.
            collectorURL: try Self.normalizeCollectorURL(String(collectorText.split(separator: ",").first ?? "")),
            token: try TokenSource.resolve(tokenFile: tokenFile, environment: environment),
            json: json,
            useColor: color.useColor(stdoutIsTerminal: stdoutIsTerminal, environment: environment),
            timeoutSeconds: Int64(timeout))
    }

    /// `http(s)://host[:port][/prefix]` without a trailing slash; a bare `host:port` means http.
    static func normalizeCollectorURL(_ text: String) throws -> String {
        var url = String(text.trimmingSpaces)
        if !url.contains("://") { url = "http://" + url }
        while url.hasSuffix("/") { url.removeLast() }
        guard let components = URLComponents(string: url),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty,
              components.query == nil, components.fragment == nil, EndpointURL.problem(url) == nil
        else {
            throw QueryError("'\(Text.sanitize(text))' is not a collector URL: expected http://HOST:PORT (set --collector or PERISCOPE_COLLECTOR)")
        }
        return url
    }
}
