import ArgumentParser
import AsyncHTTPClient
import Foundation
import PeriscopeConfig
import PeriscopeModel

/// `periscope-agent dlq list | replay | purge`: batches the collector refused for good.
struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "List, replay or purge batches the collector refused (dead letters).",
        subcommands: [List.self, Replay.self, Purge.self])

    struct Location: ParsableArguments {
        @Option(help: "The agent's data directory. Default ./periscope-agent-data.")
        var data: String = "./periscope-agent-data"

        var box: DeadLetterBox {
            DeadLetterBox(directory: AgentConfiguration(dataDirectory: data).deadLetterDirectory)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each dead letter: when, signal, items, status and reason.",
            discussion: "Example:\n  periscope-agent dlq list --data /var/lib/periscope-agent")

        @OptionGroup var location: Location
        @Flag(help: "Print JSON (an array of letters).") var json = false

        func run() throws {
            let letters = location.box.list()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(letters), as: UTF8.self))
                return
            }
            guard !letters.isEmpty else {
                print("no dead letters in \(location.box.directory)")
                return
            }
            for letter in letters {
                let time = Date(timeIntervalSince1970: Double(letter.rejectedAtUnixNano) / 1e9).formatted(.iso8601)
                print("\(time)  \(letter.signal.rawValue)  \(letter.items) items  HTTP \(letter.status)  \(ControlCharacters.escaped(letter.batchID))  \(ControlCharacters.escaped(letter.reason))")
            }
            print("\(letters.count) dead letters")
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send every dead letter to the collector again; each one accepted is removed.",
            discussion: "Example:\n  periscope-agent dlq replay --collector http://127.0.0.1:4400 --token-file token.txt")

        @OptionGroup var location: Location
        @Option(help: "Collector base URL (env PERISCOPE_COLLECTOR). Default http://127.0.0.1:4400.")
        var collector: String?
        @Option(name: .customLong("token-file"), help: "File whose first line is the bearer token (env PERISCOPE_TOKEN holds the token itself).")
        var tokenFile: String?

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let url: String
            let token: String?
            do {
                // With several collectors (one shared store), the first takes the replay.
                url = try CollectorURL.list(collector ?? environment["PERISCOPE_COLLECTOR"] ?? "http://127.0.0.1:4400")[0]
                token = try tokenFile.map { try TokenFile.read($0).first } ?? environment["PERISCOPE_TOKEN"]
            } catch let error as ConfigurationError {
                throw ValidationError(error.description)
            }
            let httpClient = OTLPUploader.makeHTTPClient()
            let client = OTLPUploader(endpoint: url, token: token, httpClient: httpClient)
            let box = location.box
            var replayed = 0
            var failed = 0
            var rejectedItems: Int64 = 0
            for letter in box.list() {
                guard let batch = box.batch(of: letter) else {
                    print("\(ControlCharacters.escaped(letter.batchID)): batch file missing or damaged; left in place")
                    failed += 1
                    continue
                }
                do {
                    if let partial = try await client.send(batch) {
                        // Accepted, but some items were not kept (they cannot be on a retry either): say so.
                        print("\(ControlCharacters.escaped(letter.batchID)): the collector kept \(max(0, Int64(letter.items) - partial.rejected)) of \(letter.items) items and rejected \(partial.rejected): \(partial.message)")
                        rejectedItems = rejectedItems.addingReportingOverflow(partial.rejected).overflow ? .max : rejectedItems + partial.rejected
                    }
                    box.remove(letter)
                    replayed += 1
                } catch {
                    print("\(ControlCharacters.escaped(letter.batchID)): \(ControlCharacters.escaped("\(error)"))")
                    failed += 1
                }
            }
            try? await httpClient.shutdown()
            print("replayed \(replayed), still dead \(failed)" + (rejectedItems > 0 ? ", items the collector rejected on replay \(rejectedItems)" : ""))
            if failed > 0 { throw ExitCode(1) }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete every dead letter.",
            discussion: "Example:\n  periscope-agent dlq purge --data /var/lib/periscope-agent")

        @OptionGroup var location: Location

        func run() throws {
            let box = location.box
            let letters = box.list()
            letters.forEach(box.remove)
            print("purged \(letters.count) dead letters")
        }
    }
}
