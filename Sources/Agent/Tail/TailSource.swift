import Foundation
import PeriscopeLogLines

/// One `tail:` entry, resolved: which files, how to read them and whose logs they are.
struct TailSource: Sendable, Equatable {
    enum StartAt: String, Sendable, Equatable { case beginning, end }
    typealias Format = LogFormat

    /// Lines not matching `startPattern` continue the record before them (stack traces).
    struct Multiline: Sendable, Equatable {
        var startPattern: String
        var timeout: Duration = .seconds(1)
    }

    var include: [String]
    var exclude: [String] = []
    /// `service.name` of this source's records; the agent's `--service` when nil.
    var service: String?
    /// Where to start in a file present at the source's very first poll (no checkpoint history).
    var startAt: StartAt = .end
    var format: Format = .json
    /// For `plain`: a regex whose named groups become fields (`time`, `level`, `msg`, …).
    var pattern: String?
    var multiline: Multiline?
    var maxLineBytes = 64 << 10
    /// A partial last line (no newline yet) is sent as a record once the file has not grown for this long.
    var partialLineTimeout: Duration = .seconds(1)

    init(include: [String], exclude: [String] = [], service: String? = nil, startAt: StartAt = .end,
         format: Format = .json, pattern: String? = nil, multiline: Multiline? = nil, maxLineBytes: Int = 64 << 10) {
        self.include = include
        self.exclude = exclude
        self.service = service
        self.startAt = startAt
        self.format = format
        self.pattern = pattern
        self.multiline = multiline
        self.maxLineBytes = maxLineBytes
    }

    /// A stable name for this source in the checkpoint file.
    var key: String { (include + exclude.map { "!" + $0 }).joined(separator: "|") }
}

/// The `tail:` part of the agent's configuration.
struct TailConfiguration: Sendable, Equatable {
    var sources: [TailSource] = []
    /// How often the globs are expanded again (new files appear within about this long).
    var pollInterval: Duration = .milliseconds(250)
    /// Record times passed on as they are; others become the time the line was read.
    var timeBounds = LogTimeBounds()
}
