import Foundation
import PeriscopeBenchKit
#if canImport(Glibc)
import Glibc
#endif

/// Writes the benchmark's log file: JSON lines of about 250 bytes, shaped like a service's
/// request log, each carrying its sequence number as its request ID (`"correlation_id":
/// "req-00001234"`, which the agent turns into the `correlation_id` attribute) so that the
/// receiving end can tell every line apart and find lost or duplicated ones.
///
/// ```
/// {"time":"2026-11-22T10:15:30.123Z","level":"info","msg":"GET /route/7 cached","service":"cart",
///  "trace_id":"<32 hex>","span_id":"<16 hex>","correlation_id":"req-00001234","http.route":"/route/7",
///  "duration_ms":12.3,"user":"u123"}
/// ```
///
/// IDs are random-looking (SplitMix64 of a per-run seed, `IDSource`), so compression in the
/// agent gets no help a real service's IDs would not give. No field is one the agent's default
/// redaction rules match (no e-mail, no run of 13 or more digits, no `token=`).
struct LogFileWriter {
    struct Written: Codable, Sendable {
        var path: String
        var bytes: Int
        var lines: Int
        var meanLineBytes: Double
        var writeSeconds: Double
        /// Written by an earlier `--write-only` run (and read by peers first), not by this one.
        var reused = false
    }

    /// Lines are written until the file holds at least `targetBytes`.
    let targetBytes: Int
    let ids = IDSource()

    static let services = ["cart", "auth", "shop", "mail", "feed"]
    static let methods = ["GET", "GET", "GET", "POST", "PUT", "GET", "DELETE", "GET"]
    /// Message tails, so line lengths vary (mean ≈ 250 B with the fixed fields).
    static let tails = [" ok", " ok", " ok", " ok", " hit", " retry", " ok", " slow"]

    /// The sequence number a line carries: its correlation ID is `req-` and 8 digits.
    static let seqPrefix = Array("req-".utf8)
    static let seqDigits = 8

    func write(to url: URL) throws -> Written {
        let start = ContinuousClock.now
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ManagedProcess.LaunchError(description: "cannot create \(url.path) (errno \(errno))") }
        defer { close(fd) }
        var buffer = [UInt8]()
        buffer.reserveCapacity(4 << 20)
        var written = 0
        var lines = 0
        // Time runs from an hour ago, half a millisecond per line.
        var timeMillis = UInt64(Date().timeIntervalSince1970 * 1000) - 3_600_000
        func flush() throws {
            var offset = 0
            while offset < buffer.count {
                let count = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
                guard count > 0 else { throw ManagedProcess.LaunchError(description: "write to \(url.path) failed (errno \(errno))") }
                offset += count
            }
            written += buffer.count
            buffer.removeAll(keepingCapacity: true)
        }
        while written + buffer.count < targetBytes {
            appendLine(seq: UInt64(lines), timeMillis: timeMillis, into: &buffer)
            lines += 1
            if lines % 2 == 0 { timeMillis += 1 }
            if buffer.count >= 4 << 20 { try flush() }
        }
        try flush()
        // On disk before the agent starts, so that write-back does not compete with the agent's own fsyncs.
        fsync(fd)
        let seconds = TailBenchClock.seconds(ContinuousClock.now - start)
        return Written(path: url.path, bytes: written, lines: lines,
                       meanLineBytes: lines > 0 ? Double(written) / Double(lines) : 0, writeSeconds: seconds)
    }

    /// A file an earlier run wrote (`--write-only`): its lines are counted again, and it must end
    /// with a newline, as every file this writer makes does.
    static func existing(at url: URL) throws -> Written {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ManagedProcess.LaunchError(description: "cannot open \(url.path) (errno \(errno)): write it first with --write-only") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4 << 20)
        var bytes = 0
        var lines = 0
        var last: UInt8 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            guard count >= 0 else { throw ManagedProcess.LaunchError(description: "read of \(url.path) failed (errno \(errno))") }
            if count == 0 { break }
            bytes += count
            for byte in buffer[0..<count] where byte == UInt8(ascii: "\n") { lines += 1 }
            last = buffer[count - 1]
        }
        guard lines > 0, last == UInt8(ascii: "\n") else {
            throw ManagedProcess.LaunchError(description: "\(url.path) is empty or ends inside a line: not a file --write-only wrote")
        }
        return Written(path: url.path, bytes: bytes, lines: lines, meanLineBytes: Double(bytes) / Double(lines), writeSeconds: 0, reused: true)
    }

    /// One line (with its newline) for sequence number `seq`.
    func appendLine(seq: UInt64, timeMillis: UInt64, into out: inout [UInt8]) {
        let mix = Self.scramble(ids.seed ^ seq)
        let service = Self.services[Int(mix % UInt64(Self.services.count))]
        let route = "/route/\((mix >> 8) % 20)"
        let method = Self.methods[Int((mix >> 16) % UInt64(Self.methods.count))]
        let levelPick = (mix >> 24) % 100
        let level = levelPick < 2 ? "error" : levelPick < 8 ? "warn" : "info"
        let tail = Self.tails[Int((mix >> 32) % UInt64(Self.tails.count))]
        let durationTenths = (mix >> 40) % 1000
        let user = (mix >> 20) % 1000

        append("{\"time\":\"", &out)
        Self.appendRFC3339(millis: timeMillis, into: &out)
        append("\",\"level\":\"\(level)\",\"msg\":\"\(method) \(route)\(tail)\",\"service\":\"\(service)\",\"trace_id\":\"", &out)
        Self.appendHex(ids.traceID(seq), into: &out)
        append("\",\"span_id\":\"", &out)
        Self.appendHex(ids.spanID(trace: seq, position: 0), into: &out)
        append("\",\"correlation_id\":\"req-", &out)
        Self.appendPadded(seq, width: Self.seqDigits, into: &out)
        append("\",\"http.route\":\"\(route)\",\"duration_ms\":\(durationTenths / 10).\(durationTenths % 10),\"user\":\"u\(user)\"}\n", &out)
    }

    private func append(_ text: String, _ out: inout [UInt8]) {
        out.append(contentsOf: text.utf8)
    }

    static func scramble(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func appendHex(_ bytes: some Collection<UInt8>, into out: inout [UInt8]) {
        for byte in bytes {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0f)])
        }
    }

    static func appendPadded(_ value: UInt64, width: Int, into out: inout [UInt8]) {
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width)
        var rest = value
        var index = width - 1
        while rest > 0, index >= 0 {
            digits[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            index -= 1
        }
        out.append(contentsOf: digits)
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
    static func appendRFC3339(millis: UInt64, into out: inout [UInt8]) {
        let seconds = Int64(millis / 1000)
        let days = seconds / 86_400
        let secondOfDay = seconds % 86_400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        appendPadded(UInt64(year), width: 4, into: &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(UInt64(month), width: 2, into: &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(UInt64(day), width: 2, into: &out)
        out.append(UInt8(ascii: "T"))
        appendPadded(UInt64(secondOfDay / 3600), width: 2, into: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(UInt64(secondOfDay / 60 % 60), width: 2, into: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(UInt64(secondOfDay % 60), width: 2, into: &out)
        out.append(UInt8(ascii: "."))
        appendPadded(millis % 1000, width: 3, into: &out)
        out.append(UInt8(ascii: "Z"))
    }
}
