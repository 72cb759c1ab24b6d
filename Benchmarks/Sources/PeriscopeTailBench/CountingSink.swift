import CBenchZstd
import Foundation
import PeriscopeBenchKit
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The "ship" end of the tail benchmark: a minimal OTLP/HTTP receiver on a loopback port that
/// answers every request 200 with an empty protobuf body (an empty `Export…ServiceResponse`) as
/// soon as it has counted it, so that the agent — not a store — is what is measured.
///
/// For `POST /v1/logs` it decodes the zstd body (the agent's `Content-Encoding`), walks the
/// `ExportLogsServiceRequest` (resource_logs → scope_logs → log_records → body.string_value) and
/// reads each record's `correlation_id` (`req-NNNNNNNN`, the line's sequence number): every line of the file is checked off once, so lost and
/// duplicated lines are counted exactly. A batch whose `X-Periscope-Batch-ID` was already seen is
/// a re-send the collector would drop as a duplicate; its records are counted apart.
///
/// Blocking sockets, one thread per connection (the agent opens `shipper.concurrency`, 4 by
/// default). Only 127.0.0.1 is ever bound.
final class CountingSink: Sendable {
    struct Counts: Codable, Sendable {
        /// Log records received in batches not seen before.
        var records = 0
        /// Distinct lines of the file checked off.
        var uniqueLines = 0
        /// Records of a line already checked off, in a batch with a new ID (a real duplicate).
        var duplicateRecords = 0
        /// Records in a batch whose ID was seen before (a re-send; the collector drops those).
        var resentRecords = 0
        var resentBatches = 0
        /// Records without a `correlation_id` of the form `req-NNNNNNNN`, or one beyond the file's lines.
        var unknownRecords = 0
        var logRequests = 0
        /// Requests to other paths (the agent's own metrics), answered 200 and not counted.
        var otherRequests = 0
        /// Request bodies as sent (zstd) and as decoded, in bytes.
        var wireBytes = 0
        var decodedBytes = 0
        var malformedRequests = 0
        /// Connections the sink dropped because a request could not be read.
        var connectionErrors = 0
        var firstError: String?
    }

    private struct State {
        var counts = Counts()
        var seen: [UInt8]
        var batchIDs = Set<String>()
        var firstRecordAt: ContinuousClock.Instant?
        var lastNewLineAt: ContinuousClock.Instant?
        var completedAt: ContinuousClock.Instant?
    }

    let port: Int
    let expectedLines: Int
    private let listener: Int32
    private let state: Mutex<State>

    init(expectedLines: Int) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard descriptor >= 0, bound == 0, listen(descriptor, 64) == 0 else {
            if descriptor >= 0 { Glibc.close(descriptor) }
            throw ManagedProcess.LaunchError(description: "sink: cannot listen on 127.0.0.1 (errno \(errno))")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        listener = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        self.expectedLines = expectedLines
        state = Mutex(State(seen: [UInt8](repeating: 0, count: expectedLines)))
        Thread { [self] in acceptLoop() }.start()
    }

    /// Stops accepting; open connections end when the agent closes them.
    func close() {
        shutdown(listener, Int32(SHUT_RDWR))
    }

    var counts: Counts { state.withLock { $0.counts } }
    /// When the first log record arrived, the last new line was checked off, and every line was.
    var times: (first: ContinuousClock.Instant?, last: ContinuousClock.Instant?, completed: ContinuousClock.Instant?) {
        state.withLock { ($0.firstRecordAt, $0.lastNewLineAt, $0.completedAt) }
    }

    // MARK: - HTTP

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            var noDelay: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
            Thread { [self] in serve(client) }.start()
        }
    }

    private struct Request {
        var method = ""
        var path = ""
        var contentLength: Int?
        var chunked = false
        var encoding = ""
        var batchID: String?
        var close = false
    }

    /// Serves one keep-alive connection until the client closes it or sends garbage.
    private func serve(_ fd: Int32) {
        defer { Glibc.close(fd) }
        var reader = SocketReader(fd: fd)
        guard let decoder = ZSTD_createDCtx() else { return }
        defer { ZSTD_freeDCtx(decoder) }
        var decoded = [UInt8](repeating: 0, count: 4 << 20)
        while true {
            guard let head = reader.readHead() else {
                if !reader.atCleanEnd { fail("connection: incomplete request head") }
                return
            }
            guard let request = Self.parseHead(head) else { return fail("connection: unreadable request head") }
            let body: [UInt8]
            if request.chunked {
                guard let chunked = reader.readChunked() else { return fail("connection: incomplete chunked body") }
                body = chunked
            } else {
                guard let length = request.contentLength ?? (request.method == "POST" ? nil : 0) else {
                    return fail("connection: POST without Content-Length")
                }
                guard let fixed = reader.read(count: length) else { return fail("connection: body shorter than \(length) B") }
                body = fixed
            }
            if request.path.hasPrefix("/v1/logs") {
                handleLogs(body, request: request, decoder: decoder, decoded: &decoded)
            } else {
                state.withLock { $0.counts.otherRequests += 1 }
            }
            let response = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"
            guard Self.sendAll(fd, Array(response.utf8)) else { return fail("connection: send failed (errno \(errno))") }
            if request.close { return }
        }
    }

    private func fail(_ message: String) {
        state.withLock {
            $0.counts.connectionErrors += 1
            if $0.counts.firstError == nil { $0.counts.firstError = message }
        }
    }

    private static func parseHead(_ head: [UInt8]) -> Request? {
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: true)
        guard !lines.isEmpty else { return nil }
        let first = lines.removeFirst().split(separator: " ")
        guard first.count >= 2 else { return nil }
        var request = Request(method: String(first[0]), path: String(first[1]))
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch name {
            case "content-length": request.contentLength = Int(value)
            case "transfer-encoding": request.chunked = value.lowercased().contains("chunked")
            case "content-encoding": request.encoding = value.lowercased()
            case "x-periscope-batch-id": request.batchID = value
            case "connection": request.close = value.lowercased() == "close"
            default: break
            }
        }
        return request
    }

    private static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    // MARK: - Counting

    private func handleLogs(_ body: [UInt8], request: Request, decoder: OpaquePointer, decoded: inout [UInt8]) {
        var decodedCount = body.count
        var failure: String?
        if request.encoding == "zstd" {
            switch Self.decompress(body, decoder: decoder, into: &decoded) {
            case .success(let count): decodedCount = count
            case .failure(let message): failure = message
            }
        } else if !request.encoding.isEmpty, request.encoding != "identity" {
            failure = "unsupported Content-Encoding \(request.encoding)"
        } else {
            if decoded.count < body.count { decoded = [UInt8](repeating: 0, count: body.count) }
            decoded.replaceSubrange(0..<body.count, with: body)
        }
        var seqs: [Int] = []
        var unknown = 0
        if failure == nil {
            seqs.reserveCapacity(8192)
            let ok = decoded.withUnsafeBufferPointer { buffer in
                OTLPLogWalker.walk(UnsafeBufferPointer(rebasing: buffer[0..<decodedCount])) { seq in
                    if let seq { seqs.append(seq) } else { unknown += 1 }
                }
            }
            if !ok { failure = "malformed ExportLogsServiceRequest" }
        }
        let now = ContinuousClock.now
        state.withLock { state in
            state.counts.logRequests += 1
            state.counts.wireBytes += body.count
            state.counts.decodedBytes += decodedCount
            if let failure {
                state.counts.malformedRequests += 1
                if state.counts.firstError == nil { state.counts.firstError = failure }
                return
            }
            if let id = request.batchID, !state.batchIDs.insert(id).inserted {
                state.counts.resentBatches += 1
                state.counts.resentRecords += seqs.count + unknown
                return
            }
            if state.firstRecordAt == nil, !seqs.isEmpty || unknown > 0 { state.firstRecordAt = now }
            state.counts.records += seqs.count + unknown
            state.counts.unknownRecords += unknown
            var fresh = 0
            for seq in seqs {
                guard seq < state.seen.count else {
                    state.counts.unknownRecords += 1
                    continue
                }
                if state.seen[seq] == 0 {
                    state.seen[seq] = 1
                    fresh += 1
                } else {
                    state.counts.duplicateRecords += 1
                }
            }
            if fresh > 0 {
                state.counts.uniqueLines += fresh
                state.lastNewLineAt = now
                if state.counts.uniqueLines == expectedLines { state.completedAt = now }
            }
        }
    }

    private enum Decoded {
        case success(Int)
        case failure(String)
    }

    /// Decodes one zstd frame into `output` (grown when the frame says it is larger).
    private static func decompress(_ input: [UInt8], decoder: OpaquePointer, into output: inout [UInt8]) -> Decoded {
        input.withUnsafeBytes { source -> Decoded in
            let declared = ZSTD_getFrameContentSize(source.baseAddress, source.count)
            // ZSTD_CONTENTSIZE_ERROR is (0ULL - 2), ZSTD_CONTENTSIZE_UNKNOWN (0ULL - 1).
            if declared == UInt64.max - 1 { return .failure("not a zstd frame") }
            if declared != UInt64.max, declared > UInt64(output.count) {
                guard declared <= 256 << 20 else { return .failure("zstd frame of \(declared) bytes") }
                output = [UInt8](repeating: 0, count: Int(declared))
            }
            while true {
                let result = output.withUnsafeMutableBytes { destination in
                    ZSTD_decompressDCtx(decoder, destination.baseAddress, destination.count, source.baseAddress, source.count)
                }
                if ZSTD_isError(result) == 0 { return .success(result) }
                let name = String(cString: ZSTD_getErrorName(result))
                // Unknown content size and a too-small buffer: grow and retry.
                guard declared == UInt64.max, name.contains("Destination buffer is too small"), output.count < 256 << 20 else {
                    return .failure("zstd: \(name)")
                }
                output = [UInt8](repeating: 0, count: output.count * 2)
            }
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// Buffered reads from a blocking socket: request heads, fixed-length and chunked bodies.
private struct SocketReader {
    let fd: Int32
    private var buffer = [UInt8]()
    private var start = 0
    private var chunk = [UInt8](repeating: 0, count: 256 * 1024)

    /// True when the last read hit end of stream between requests (nothing left over).
    private(set) var atCleanEnd = false

    init(fd: Int32) { self.fd = fd }

    /// Appends what the socket has; false at end of stream or on error.
    private mutating func fill() -> Bool {
        if start > 0, start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 1 << 20 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        var received = 0
        repeat {
            received = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        } while received < 0 && errno == EINTR
        guard received > 0 else {
            atCleanEnd = received == 0 && start == buffer.count
            return false
        }
        buffer.append(contentsOf: chunk[0..<received])
        return true
    }

    /// The request line and headers, without the blank line; nil at end of stream.
    mutating func readHead() -> [UInt8]? {
        // Bytes after `start` already searched (an offset: `fill` may move `start`).
        var scanned = 0
        while true {
            var index = start + max(0, scanned - 3)
            while index + 3 < buffer.count {
                if buffer[index] == 13, buffer[index + 1] == 10, buffer[index + 2] == 13, buffer[index + 3] == 10 {
                    let head = Array(buffer[start..<index])
                    start = index + 4
                    return head
                }
                index += 1
            }
            scanned = buffer.count - start
            guard scanned < 64 * 1024, fill() else { return nil }
        }
    }

    mutating func read(count: Int) -> [UInt8]? {
        while buffer.count - start < count {
            guard fill() else { return nil }
        }
        let bytes = Array(buffer[start..<(start + count)])
        start += count
        return bytes
    }

    private mutating func readLine() -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 10) {
                var end = newline
                if end > start, buffer[end - 1] == 13 { end -= 1 }
                let line = Array(buffer[start..<end])
                start = newline + 1
                return line
            }
            guard fill() else { return nil }
        }
    }

    mutating func readChunked() -> [UInt8]? {
        var body = [UInt8]()
        while true {
            guard let line = readLine() else { return nil }
            let sizeText = String(decoding: line, as: UTF8.self).split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
            if size == 0 {
                // Trailers, up to the blank line.
                while let trailer = readLine(), !trailer.isEmpty {}
                return body
            }
            guard let data = read(count: size), readLine() != nil else { return nil }
            body.append(contentsOf: data)
        }
    }
}

/// Walks an `ExportLogsServiceRequest` (opentelemetry-proto logs.proto) without building it:
/// resource_logs (1) → scope_logs (2) → log_records (2) → attributes (6), the KeyValue whose
/// key (1) is `correlation_id`, its value (2) → string_value (1).
enum OTLPLogWalker {
    static let correlationKey = Array("correlation_id".utf8)

    /// Calls `visit` once per log record with the sequence number of its `correlation_id`
    /// (`req-` and 8 digits; nil when it has none); false when the bytes are not well formed.
    static func walk(_ bytes: UnsafeBufferPointer<UInt8>, visit: (Int?) -> Void) -> Bool {
        forEachField(bytes, number: 1) { resourceLogs in
            forEachField(resourceLogs, number: 2) { scopeLogs in
                forEachField(scopeLogs, number: 2) { record in
                    var seq: Int?
                    let ok = forEachField(record, number: 6) { keyValue in
                        guard seq == nil else { return true }
                        var isCorrelation = false
                        var value: UnsafeBufferPointer<UInt8>?
                        let ok = forEachField(keyValue, number: nil) { number, payload in
                            if number == 1 { isCorrelation = payload.elementsEqual(correlationKey) }
                            if number == 2 { value = payload }
                            return true
                        }
                        if ok, isCorrelation, let value {
                            return forEachField(value, number: 1) { text in
                                seq = sequenceNumber(in: text)
                                return true
                            }
                        }
                        return ok
                    }
                    visit(seq)
                    return ok
                }
            }
        }
    }

    static func forEachField(_ message: UnsafeBufferPointer<UInt8>, number: UInt64,
                             _ body: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        forEachField(message, number: Optional(number)) { _, payload in body(payload) }
    }

    /// Calls `body` with the field number and payload of every length-delimited field `number`
    /// (every one when nil) of `message`, skipping the others; false when the message is
    /// malformed or `body` returned false.
    static func forEachField(_ message: UnsafeBufferPointer<UInt8>, number: UInt64?,
                             _ body: (UInt64, UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        var index = 0
        while index < message.count {
            guard let key = varint(message, &index) else { return false }
            switch key & 7 {
            case 0:
                guard varint(message, &index) != nil else { return false }
            case 1:
                index += 8
            case 2:
                guard let length = varint(message, &index), length <= UInt64(message.count - index) else { return false }
                let end = index + Int(length)
                if number == nil || key >> 3 == number {
                    guard body(key >> 3, UnsafeBufferPointer(rebasing: message[index..<end])) else { return false }
                }
                index = end
            case 5:
                index += 4
            default:
                return false
            }
            if index > message.count { return false }
        }
        return true
    }

    private static func varint(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count, shift < 64 {
            let byte = bytes[index]
            index += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }

    /// The number of `req-NNNNNNNN` (exactly that shape), if the text is one.
    static func sequenceNumber(in text: UnsafeBufferPointer<UInt8>) -> Int? {
        let prefix = LogFileWriter.seqPrefix
        guard text.count == prefix.count + LogFileWriter.seqDigits, text.prefix(prefix.count).elementsEqual(prefix) else { return nil }
        var value = 0
        for byte in text.dropFirst(prefix.count) {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }
}
