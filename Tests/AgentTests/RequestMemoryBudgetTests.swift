import GRPCCore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PeriscopeCompression
import PeriscopeConfig
import PeriscopeModel
import PeriscopeOTLP
@testable import PeriscopeServer
import PeriscopeTesting
import Testing

@Suite("Request memory budget")
struct RequestMemoryBudgetTests {
    @Test("claims take what is left (at least what they need), a claim alone takes all it wants, and every byte comes back")
    func takeAndGiveBack() {
        let budget = RequestMemoryBudget(limit: 100)
        var first = RequestMemoryClaim(budget)
        // Alone: more than the whole budget.
        let alone = first.take(150, atLeast: 150)
        #expect(alone == 150)
        var second = RequestMemoryClaim(budget)
        let nothingLeft = second.take(10, atLeast: 1)
        #expect(nothingLeft == nil)
        let shrunk = first.hold(60)
        #expect(shrunk && budget.bytesHeld == 60)
        let rest = second.take(80, atLeast: 10)
        #expect(rest == 40)
        let more = second.take(1, atLeast: 1)
        #expect(more == nil)
        let grown = second.hold(41)
        #expect(!grown)
        let held = second.hold(20)
        #expect(held && budget.bytesHeld == 80)
        first.release()
        second.release()
        second.release()
        #expect(budget.bytesHeld == 0)
        // Without a budget nothing is refused or counted.
        var free = RequestMemoryClaim(nil)
        let unlimited = free.take(1 << 40, atLeast: 1 << 40)
        let huge = free.hold(1 << 50)
        #expect(unlimited == 1 << 40 && huge)
        // A claim that goes away unreleased (a path that forgot, a task torn down) gives back all it held,
        // and frees the overrun it had although the total is still past the budget.
        var full = RequestMemoryClaim(budget)
        _ = full.take(150, atLeast: 150)
        func forgotten() {
            var claim = RequestMemoryClaim(budget)
            #expect(claim.grow(10, atLeast: 10) == 10, "the first to overrun")
            #expect(budget.bytesHeld == 160)
        }
        forgotten()
        #expect(budget.bytesHeld == 150)
        var other = RequestMemoryClaim(budget)
        #expect(other.grow(5, atLeast: 5) == 5, "the forgotten claim's overrun is free")
        full.release()
        other.release()
        #expect(budget.bytesHeld == 0)
    }

    @Test("of the claims whose output outgrows the budget the first goes on past it, the others are refused until the total is within the limit again")
    func oneOverruns() {
        let budget = RequestMemoryBudget(limit: 100)
        var first = RequestMemoryClaim(budget)
        var second = RequestMemoryClaim(budget)
        var third = RequestMemoryClaim(budget)
        let admitted = [first.take(30, atLeast: 30), second.take(30, atLeast: 30), third.take(10, atLeast: 10)]
        #expect(admitted == [30, 30, 10])
        let overrun = first.grow(80, atLeast: 80)
        #expect(overrun == 80 && budget.bytesHeld == 150)
        let refused = second.grow(20, atLeast: 20)
        #expect(refused == nil)
        // Over the budget nothing new is taken in.
        let newcomer = third.take(1, atLeast: 1)
        #expect(newcomer == nil && budget.refusals == 2)
        // Giving back while still over the limit keeps the overrun its own.
        #expect(first.hold(100) && budget.bytesHeld == 140)
        let stillRefused = second.grow(20, atLeast: 20)
        #expect(stillRefused == nil)
        // Within the limit again (the first still under way), the next may overrun: second is not alone here.
        #expect(first.hold(50) && budget.bytesHeld == 90)
        let next = second.grow(20, atLeast: 20)
        #expect(next == 20 && budget.bytesHeld == 110)
        first.release()
        second.release()
        third.release()
        #expect(budget.bytesHeld == 0)
    }

    @Test("decompression stops with outputRefused when its reader will not let the output grow, for zstd and gzip")
    func outputRefused() {
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        #expect(throws: CompressionError.outputRefused(bytes: 131_072)) { try Zstd.decompress(Zstd.compress(zeros), limit: 2 << 20) { $0 <= 65_536 } }
        #expect(throws: CompressionError.self) { try Gzip.decompress(Gzip.compress(zeros), limit: 2 << 20) { $0 <= 65_536 } }
        var asked: [Int] = []
        #expect((try? ContentEncoding.gzip.decode(Gzip.compress(zeros), limit: 2 << 20) { asked.append($0); return true }) == zeros)
        #expect(asked.last == 1 << 20 && asked == asked.sorted())
    }

    @Test("the limit comes from the body limits unless set, and never overflows")
    func limits() {
        #expect(BodyLimits().inFlightBytes == 4 * (80 << 20))
        #expect(BodyLimits(maxInFlightBytes: 1 << 20).inFlightBytes == 1 << 20)
        #expect(BodyLimits(maxBodyBytes: .max, maxDecompressedBytes: .max).inFlightBytes == .max)
        // Set, it holds at least one request at both limits.
        let names = (body: "max_body_bytes", decompressed: "max_decompressed_bytes", inFlight: "max_inflight_bytes")
        var limits = BodyLimits()
        #expect(throws: ConfigurationError.self) {
            try limits.set(body: (nil, nil), decompressed: (nil, nil), inFlight: ("79MiB", nil), names: names)
        }
        #expect(throws: ConfigurationError.self) {
            try limits.set(body: (nil, nil), decompressed: (nil, nil), inFlight: (nil, "512"), names: names)
        }
        var set = BodyLimits()
        #expect(throws: Never.self) { try set.set(body: ("1MiB", nil), decompressed: (nil, "4MiB"), inFlight: ("5MiB", nil), names: names) }
        #expect(set.inFlightBytes == 5 << 20 && set.maxBodyBytes == 1 << 20 && set.maxDecompressedBytes == 4 << 20)
    }

    @Test("an OTLP/gRPC export past the budget is UNAVAILABLE with a RetryInfo, and passes once the budget is free")
    func grpcRefusal() throws {
        let budget = RequestMemoryBudget(limit: 4 << 10)
        let service = OTLPGRPCService(ingest: OTLPIngest(budget: budget), logger: Logger(label: "budget")) { .accepted($0) }
        let batch = TelemetryBatch.traces([ResourceSpans(resource: Resource(serviceName: "s"), scopes: [ScopeSpans(spans: [
            Span(traceID: TraceID.random(), spanID: SpanID.random(), name: "op", startTimeUnixNano: 1, endTimeUnixNano: 2),
        ])])])
        let message = OTLPEncoder.encode(batch)
        var other = RequestMemoryClaim(budget)
        _ = other.take(4 << 10, atLeast: 4 << 10)
        var claim = RequestMemoryClaim(budget)
        #expect {
            _ = try service.read(.traces, message: message, claim: &claim)
        } throws: { error in
            guard let error = error as? RPCError else { return false }
            return error.code == .unavailable && error.message.contains("the requests in flight hold 4096 bytes, of at most 4096")
                && error.metadata[binaryValues: "grpc-status-details-bin"].contains { _ in true }
        }
        other.release()
        let request = try service.read(.traces, message: message, claim: &claim)
        #expect(request.decoded.batch == batch)
        #expect(budget.bytesHeld == message.count)
        claim.release()
        #expect(budget.bytesHeld == 0)
    }

    static func spans() -> [UInt8] {
        OTLPEncoder.encode(.traces([ResourceSpans(resource: Resource(serviceName: "s"), scopes: [ScopeSpans(spans: [
            Span(traceID: TraceID.random(), spanID: SpanID.random(), name: "op", startTimeUnixNano: 1, endTimeUnixNano: 2),
        ])])]))
    }

    /// OTLP/HTTP routes taking bodies of up to 1 MiB (3 MiB decompressed) against `budget`, accepting every request.
    static func router(_ budget: RequestMemoryBudget) -> Router<BasicRequestContext> {
        let router = Router()
        OTLPIngest(limits: BodyLimits(maxBodyBytes: 1 << 20, maxDecompressedBytes: 3 << 20), budget: budget)
            .register(on: router, logger: Logger(label: "budget")) { received, _ in .accepted(received) }
        return router
    }

    @Test("a body that trickles in slower than the minimum rate after the grace period is refused with 408, its bytes given back; a prompt one passes")
    func tricklingBody() async throws {
        let budget = RequestMemoryBudget(limit: 4 << 20)
        var ingest = OTLPIngest(limits: BodyLimits(maxBodyBytes: 1 << 20, maxDecompressedBytes: 3 << 20), budget: budget)
        ingest.bodyGrace = .milliseconds(300)
        ingest.minimumBodyBytesPerSecond = 1024
        let spans = Self.spans()
        func request(_ body: RequestBody) -> Request {
            var head = HTTPRequest(method: .post, scheme: "http", authority: "127.0.0.1", path: "/v1/traces")
            head.headerFields[.contentType] = OTLPFormat.protobuf.rawValue
            return Request(head: head, body: body)
        }
        // 2,000 bytes, one every 20 ms: 50 bytes a second, never idle, far below 1 KiB/s (40 s to the end).
        let length = 2_000
        let trickle = AsyncStream<ByteBuffer> { continuation in
            let producer = Task {
                for _ in 0..<length {
                    try? await Task.sleep(for: .milliseconds(20))
                    if Task.isCancelled { break }
                    continuation.yield(ByteBuffer(bytes: [0x0A]))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in producer.cancel() }
        }
        var claim = RequestMemoryClaim(budget)
        do {
            _ = try await ingest.read(request(RequestBody(asyncSequence: trickle)), signal: .traces, claim: &claim)
            Issue.record("a trickling body was read to its end")
        } catch {
            #expect(error.status == .requestTimeout)
            #expect(error.response.headers[.connection] == "close")
            #expect(error.message.contains("slower than 1024 bytes per second"), "\(error.message)")
            // Refused soon after the grace period, long before the body's end (not a wall-clock bound: a loaded machine only delays the bytes).
            let received = error.message.split(separator: "(").last.flatMap { Int($0.prefix { $0.isNumber }) }
            #expect(received.map { $0 < length / 2 } == true, "\(error.message)")
        }
        claim.release()
        #expect(budget.bytesHeld == 0)
        var prompt = RequestMemoryClaim(budget)
        defer { prompt.release() }
        let read = try await ingest.read(request(RequestBody(buffer: ByteBuffer(bytes: spans))), signal: .traces, claim: &prompt)
        #expect(read.payload == spans)
    }

    @Test("OTLP/HTTP: a request the budget cannot hold gets 503 with Retry-After before it is read; alone it passes; every way a request ends gives its bytes back")
    func httpRefusal() async throws {
        let budget = RequestMemoryBudget(limit: 4 << 20)
        let router = Self.router(budget)
        let spans = Self.spans()
        let compressed = Zstd.compress(spans)
        try await Application(router: router).test(.router) { client in
            func post(_ body: [UInt8], _ encoding: String) async throws -> (HTTPResponse.Status, String?) {
                let response = try await client.execute(
                    uri: "/v1/traces", method: .post,
                    headers: [.contentType: OTLPFormat.protobuf.rawValue, .contentEncoding: encoding], body: ByteBuffer(bytes: body))
                return (response.status, response.headers[.retryAfter])
            }
            // Another request holds all but 512 KiB; a zstd body is held with 1 MiB of likely output, before it is read.
            var other = RequestMemoryClaim(budget)
            _ = other.take(budget.limit - (512 << 10), atLeast: 0)
            let refused = try await post(compressed, "zstd")
            #expect(refused.0 == .serviceUnavailable && refused.1 == "1")
            #expect(budget.bytesHeld == budget.limit - (512 << 10))
            // Uncompressed it needs only its body.
            #expect(try await post(spans, "identity").0 == .ok)
            other.release()
            #expect(try await post(compressed, "zstd").0 == .ok)
            #expect(budget.bytesHeld == 0)
            // Past the request's own limit (413), corrupt (400): nothing stays held.
            #expect(try await post(Zstd.compress([UInt8](repeating: 0, count: 4 << 20)), "zstd").0 == .contentTooLarge)
            #expect(try await post([1, 2, 3, 4], "zstd").0 == .badRequest)
            #expect(budget.bytesHeld == 0)
            // 2 MiB left: output growing to 2.5 MiB outgrows it mid-way; the first to do so goes on (and is then
            // refused for what it holds, which is no OTLP), and gives back all it held.
            _ = other.take(2 << 20, atLeast: 0)
            let grown = try await post(Zstd.compress([UInt8](repeating: 0, count: 5 << 19)), "zstd")
            #expect(grown.0 == .badRequest)
            #expect(budget.bytesHeld == 2 << 20)
            other.release()
            #expect(budget.bytesHeld == 0)
        }
    }

    @Test("20,000 random takes, grows, holds and releases: the budget always counts what the claims hold, only one claim is ever past it, and every byte comes back")
    func steadyClaims() {
        let budget = RequestMemoryBudget(limit: 1_000)
        var generator = SeededGenerator(seed: 0xB0D6E7)
        // Claims are not copyable: each lives in a slot of its own.
        final class Slot {
            var claim: RequestMemoryClaim
            init(_ budget: RequestMemoryBudget) { claim = RequestMemoryClaim(budget) }
        }
        let claims = (0..<6).map { _ in Slot(budget) }
        var pastLimit = 0
        for step in 0..<20_000 {
            let index = Int.random(in: 0..<claims.count, using: &generator)
            let bytes = Int.random(in: 1...400, using: &generator)
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: _ = claims[index].claim.take(bytes, atLeast: bytes)
            case 1: _ = claims[index].claim.grow(bytes, atLeast: Int.random(in: 1...bytes, using: &generator))
            case 2: _ = claims[index].claim.hold(Int.random(in: 0...claims[index].claim.bytes, using: &generator))
            default:
                claims[index].claim.release()
                claims[index].claim = RequestMemoryClaim(budget)
            }
            let held = claims.map { $0.claim.bytes }
            let total = held.reduce(0, +)
            if total > budget.limit { pastLimit += 1 }
            guard budget.bytesHeld == total, total - (held.max() ?? 0) <= budget.limit else {
                Issue.record("step \(step): the budget counts \(budget.bytesHeld), the claims hold \(held)")
                return
            }
        }
        #expect(pastLimit > 1_000 && budget.refusals > 1_000, "crossed \(pastLimit) times, \(budget.refusals) refusals")
        for slot in claims { slot.claim.release() }
        #expect(budget.bytesHeld == 0)
        // The overrun is free again: with the budget full, another claim may grow past it.
        var full = RequestMemoryClaim(budget)
        var next = RequestMemoryClaim(budget)
        let taken = [full.take(1_000, atLeast: 1_000), next.grow(10, atLeast: 10)]
        #expect(taken == [1_000, 10])
        full.release()
        next.release()
        #expect(budget.bytesHeld == 0)
    }

    @Test("OTLP/HTTP, 200 requests in a row, half of them past the budget: each answer as the budget stands, nothing held after any")
    func steadyRequests() async throws {
        let budget = RequestMemoryBudget(limit: 4 << 20)
        let router = Self.router(budget)
        let compressed = Zstd.compress(Self.spans())
        try await Application(router: router).test(.router) { client in
            for round in 0..<200 {
                var other = RequestMemoryClaim(budget)
                if round % 2 == 1 { _ = other.take(budget.limit - (512 << 10), atLeast: 0) }
                let response = try await client.execute(
                    uri: "/v1/traces", method: .post,
                    headers: [.contentType: OTLPFormat.protobuf.rawValue, .contentEncoding: "zstd"], body: ByteBuffer(bytes: compressed))
                let expected: HTTPResponse.Status = round % 2 == 1 ? .serviceUnavailable : .ok
                let heldByOther = other.bytes
                other.release()
                guard response.status == expected, budget.bytesHeld == 0 else {
                    Issue.record("round \(round): \(response.status), \(budget.bytesHeld) bytes held (the other claim had \(heldByOther))")
                    return
                }
            }
            #expect(budget.refusals == 100)
        }
    }
}
