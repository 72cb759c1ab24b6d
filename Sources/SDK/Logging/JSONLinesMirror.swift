#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Logging
import PeriscopeModel
import Synchronization

/// Where the JSON-lines mirror writes.
public enum LogMirrorDestination: Sendable, Hashable {
    case standardOutput
    case standardError
    /// Appends to this file, creating it if needed.
    case file(String)
}

/// Errors the SDK reports at bootstrap; never thrown from the logging or tracing hot path.
public enum PeriscopeError: Error, CustomStringConvertible {
    case alreadyBootstrapped
    case invalidEndpoint(String)
    case cannotOpenLogFile(path: String, errno: Int32)

    /// A message fit for a user.
    public var description: String {
        switch self {
        case .alreadyBootstrapped:
            return "Periscope.bootstrap was already called in this process (swift-log and tracing allow one bootstrap)"
        case .invalidEndpoint(let endpoint):
            return "agent endpoint must be an http:// or https:// URL with a host and a port between 1 and 65535, got '\(endpoint)'"
        case .cannotOpenLogFile(let path, let code):
            return "cannot open log file '\(path)': \(String(cString: strerror(code)))"
        }
    }
}

/// Writes each log record as one JSON object per line, for agents that tail files:
/// `{"time":RFC3339,"level":…,"message":…,"service":…,"trace_id":…,"span_id":…,"correlation_id":…,"metadata":{…}}`.
/// A `Logger` call never waits for the write: lines go to a buffer of at most `maxPendingBytes`
/// that one background queue writes out, in order; when a stalled pipe or disk fills it, new
/// lines are dropped and counted (`droppedLines`) instead of blocking the application.
public final class JSONLinesMirror: Sendable {
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private let writer = DispatchQueue(label: "periscope.log-mirror")
    private let pendingBytes = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)
    /// Most bytes waiting to be written before lines are dropped.
    public let maxPendingBytes: Int

    /// Lines dropped because the buffer was full.
    public var droppedLines: Int { dropped.load(ordering: .relaxed) }

    /// Opens the destination; throws `PeriscopeError.cannotOpenLogFile` if the file cannot be opened.
    public init(destination: LogMirrorDestination, maxPendingBytes: Int = 4 << 20) throws {
        self.maxPendingBytes = max(1, maxPendingBytes)
        switch destination {
        case .standardOutput:
            descriptor = 1
            ownsDescriptor = false
        case .standardError:
            descriptor = 2
            ownsDescriptor = false
        case .file(let path):
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw PeriscopeError.cannotOpenLogFile(path: path, errno: errno) }
            descriptor = fd
            ownsDescriptor = true
        }
    }

    /// Queued writes hold the mirror, so the descriptor is closed only after the last one.
    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    /// Writes one line for `record`.
    public func write(_ record: LogRecord, level: Logger.Level, service: String, logger: String, metadata: Logger.Metadata) {
        var line = "{\"time\":\""
        line += RFC3339.format(unixNano: record.timeUnixNano)
        line += "\",\"level\":\""
        line += level.rawValue
        line += "\",\"message\":"
        JSON.appendString(record.body.text, to: &line)
        line += ",\"service\":"
        JSON.appendString(service, to: &line)
        line += ",\"logger\":"
        JSON.appendString(logger, to: &line)
        if let traceID = record.traceID {
            line += ",\"trace_id\":\"" + traceID.hex + "\""
        }
        if let spanID = record.spanID {
            line += ",\"span_id\":\"" + spanID.hex + "\""
        }
        if let correlation = metadata[CorrelationID.attributeKey] {
            line += ",\"correlation_id\":"
            JSON.appendString(correlation.description, to: &line)
        }
        line += ",\"metadata\":"
        JSON.appendObject(metadata, to: &line)
        line += "}\n"
        writeLine(line)
    }

    private func writeLine(_ line: String) {
        let bytes = line.utf8.count
        let pending = pendingBytes.add(bytes, ordering: .relaxed).newValue
        guard pending <= maxPendingBytes else {
            pendingBytes.subtract(bytes, ordering: .relaxed)
            dropped.add(1, ordering: .relaxed)
            return
        }
        writer.async { [self] in
            var line = line
            line.withUTF8 { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = systemWrite(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        break  // a log mirror must never take the application down
                    }
                    offset += written
                }
            }
            pendingBytes.subtract(bytes, ordering: .relaxed)
        }
    }

    /// Returns true once every line accepted so far is written, or false when `timeout` passes
    /// first (a stalled pipe never drains; shutdown must not wait for it).
    @discardableResult
    public func drained(timeout: Duration) async -> Bool {
        let once = Once()
        return await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            writer.async { if once.fire() { done.resume(returning: true) } }
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: timeout.wholeNanoseconds))) {
                if once.fire() { done.resume(returning: false) }
            }
        }
    }

    /// True for the first caller only.
    private final class Once: Sendable {
        private let fired = Atomic<Bool>(false)
        func fire() -> Bool { !fired.exchange(true, ordering: .acquiringAndReleasing) }
    }
}

private func systemWrite(_ fd: Int32, _ pointer: UnsafePointer<UInt8>, _ count: Int) -> Int {
    write(fd, pointer, count)
}

/// Minimal JSON writing for the mirror; avoids Foundation's encoder on the logging path.
enum JSON {
    static func appendString(_ value: String, to out: inout String) {
        out.append("\"")
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out.append("\"")
    }

    static func appendObject(_ metadata: Logger.Metadata, to out: inout String) {
        out.append("{")
        var first = true
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            if !first { out.append(",") }
            first = false
            appendString(key, to: &out)
            out.append(":")
            appendValue(value, to: &out)
        }
        out.append("}")
    }

    static func appendValue(_ value: Logger.MetadataValue, to out: inout String) {
        switch value {
        case .string(let text): appendString(text, to: &out)
        case .stringConvertible(let convertible): appendString(convertible.description, to: &out)
        case .array(let values):
            out.append("[")
            for (index, element) in values.enumerated() {
                if index > 0 { out.append(",") }
                appendValue(element, to: &out)
            }
            out.append("]")
        case .dictionary(let values): appendObject(values, to: &out)
        }
    }
}

/// RFC 3339 UTC timestamps with microseconds, e.g. `2025-01-31T12:00:00.123456Z`.
enum RFC3339 {
    static func format(unixNano: UInt64) -> String {
        var seconds = time_t(unixNano / 1_000_000_000)
        let micros = Int((unixNano % 1_000_000_000) / 1_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2)
            + "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
            + "." + pad(micros, 6) + "Z"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
