import Foundation
import PeriscopeDiskQueue
import PeriscopeDelivery

/// What `periscope-agent --check` prints for a configuration that loaded: where it listens and
/// ships, its queue, what it tails and how, and its redaction rules.
extension AgentConfiguration {
    var checkSummary: String {
        var lines = ["periscope-agent: the configuration is valid"]
        lines.append("  OTLP/HTTP \(otlpListen.host):\(otlpListen.port), OTLP/gRPC " + (otlpGRPCListen.map { "\($0.host):\($0.port)" } ?? "off"))
        lines.append("  ships to \(collectorURLs.map { EndpointURL.redacted($0) }.joined(separator: ", ")) " + (token == nil ? "without a token" : "with a token"))
        lines.append("  data \(dataDirectory): queue up to \(Self.size(queue.maxBytes)), fsync \(queue.fsync), when full \(queue.whenFull.rawValue)")
        if tail.sources.isEmpty {
            lines.append("  tails no files")
        }
        for source in tail.sources {
            var how = ["\(source.format.rawValue)", "from the \(source.startAt.rawValue)"]
            if let service = source.service ?? serviceName { how.append("service \(service)") }
            if !source.exclude.isEmpty { how.append("excluding \(source.exclude.joined(separator: ", "))") }
            if let multiline = source.multiline { how.append("records start at /\(multiline.startPattern)/") }
            lines.append("  tails \(source.include.joined(separator: ", ")) (\(how.joined(separator: ", ")))")
        }
        let builtIn = redaction.includeDefaults ? "the built-in rules" : "not the built-in rules"
        lines.append("  redacts log records with \(builtIn)" + (redaction.rules.isEmpty ? "" : " and " + redaction.rules.map(\.name).joined(separator: ", ")))
        return lines.joined(separator: "\n")
    }

    private static func size(_ bytes: Int) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }
}
