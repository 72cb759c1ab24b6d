import ArgumentParser
import AsyncHTTPClient
import Foundation
import PeriscopeModel

/// Runs a command's work: resolves the global options, opens (and always closes) the HTTP
/// client, prints the output, and turns a `QueryError` into one line on stderr and exit 1.
enum CommandRunner {
    struct Context: Sendable {
        var settings: GlobalOptions.Settings
        var client: QueryClient
        var style: Style { Style(enabled: settings.useColor) }
    }

    static func run(_ options: GlobalOptions, _ body: @Sendable (Context) async throws -> String) async throws {
        let environment = ProcessInfo.processInfo.environment
        let output: String
        do {
            let settings = try options.settings(environment: environment, stdoutIsTerminal: Terminal.stdoutIsTerminal)
            let http = QueryClient.makeHTTPClient()
            let client = QueryClient(
                baseURL: settings.collectorURL, token: settings.token, timeoutSeconds: settings.timeoutSeconds, http: http)
            let result: Result<String, any Error>
            do {
                result = .success(try await body(Context(settings: settings, client: client)))
            } catch {
                result = .failure(error)
            }
            try? await http.shutdown()
            output = try result.get()
        } catch {
            fail((error as? QueryError)?.message ?? String(describing: error))
        }
        write(output, to: FileHandle.standardOutput)
    }

    /// Prints `message` to stderr and exits with status 1 (argument errors use 2 and 64).
    static func fail(_ message: String) -> Never {
        write("periscope: " + message + "\n", to: FileHandle.standardError)
        Foundation.exit(1)
    }

    /// Prints a note to stderr (e.g. "no logs"), leaving stdout for data; like an error, it
    /// starts with "periscope: ", so it can be told from the data in a merged stream.
    static func note(_ message: String) {
        write("periscope: " + message + "\n", to: FileHandle.standardError)
    }

    static func write(_ text: String, to handle: FileHandle) {
        guard !text.isEmpty else { return }
        handle.write(Data(text.utf8))
    }

    /// Reads a trace ID as people paste it: 32 hex digits (either case), or a whole W3C
    /// `traceparent` value (`00-<trace id>-<span id>-01`).
    static func parseTraceID(_ text: String) throws -> TraceID {
        let trimmed = String(text.trimmingSpaces)
        var candidate = trimmed
        let parts = trimmed.split(separator: "-", omittingEmptySubsequences: false)
        if parts.count == 4, parts[0].count == 2, parts[2].count == 16, parts[3].count == 2 {
            candidate = String(parts[1])
        }
        guard let id = TraceID(hex: candidate), !id.isZero else { throw QueryError.invalidTraceID(text) }
        return id
    }
}
