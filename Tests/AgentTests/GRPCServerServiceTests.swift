import Foundation
import Glibc
import Logging
import PeriscopeConfig
import PeriscopeServer
import PeriscopeTesting
import Synchronization
import ServiceLifecycle
import Testing

/// What a gRPC port that is already taken does to the process: an address asked for stops it
/// with a message naming the flag; the default address is only logged, and the rest runs on.
@Suite("gRPC server service")
struct GRPCServerServiceTests {
    func service(port: Int, required: Bool, bound: BoundAddress? = nil) -> GRPCServerService {
        GRPCServerService(
            name: "test", address: ListenAddress(host: "127.0.0.1", port: port), flag: "--test-grpc-listen", required: required,
            maxMessageBytes: 1 << 20, services: [], wrongProtocolHint: { "use the other port" }, bound: bound, logger: Logger(label: "grpc-test"))
    }

    @Test("a taken port: explicit stops with the flag named, default runs on without gRPC until shutdown", .timeLimit(.minutes(1)))
    func takenPort() async throws {
        // A first server holds a port.
        let holder = try HeldPort.start()
        defer { holder.stop() }

        await #expect(throws: GRPCListenError.self) {
            try await service(port: holder.port, required: true).run()
        }
        do {
            try await service(port: holder.port, required: true).run()
        } catch {
            #expect("\(error)".contains("--test-grpc-listen"), "\(error)")
        }

        let bound = BoundAddress(configured: ListenAddress(host: "127.0.0.1", port: holder.port))
        #expect(bound.isServing)
        let group = ServiceGroup(configuration: .init(services: [service(port: holder.port, required: false, bound: bound)], logger: Logger(label: "grpc-test")))
        async let running: Void = group.run()
        try await Task.sleep(for: .milliseconds(300))
        // The bind failure is seen asynchronously; on a loaded machine it can take seconds (bounded wait).
        for _ in 0..<300 where bound.isServing { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!bound.isServing, "the HTTP port's hint no longer sends gRPC clients to a port someone else holds")
        await group.triggerGracefulShutdown()
        try await running
    }

    /// A call whose answer is lost as its connection closes is reported `UNAVAILABLE` and retried
    /// by the client although the server took it (seen: 2 of 3,000 calls under a loaded `make
    /// test`), as with any gRPC server that recycles connections; so the test holds the server to
    /// at least once, and a second acceptance only for a call the client was told had failed.
    /// Calls and the grace after a recycle get 60 s: in a loaded `make test` the other tests can
    /// hold this process's cooperative threads for more than 10 s (seen: the first call of each
    /// client thread past its 10 s deadline).
    @Test("connections asked to reconnect every 0.5 s under steady grpcio traffic: every call is accepted, twice only after the client saw it fail", .timeLimit(.minutes(3)))
    func connectionAgeUnderTraffic() async throws {
        let port = FreePort.pick()
        let accepted = Mutex<[[UInt8]]>([])
        let otlp = OTLPGRPCService(ingest: OTLPIngest(), logger: Logger(label: "grpc-test")) { received in
            accepted.withLock { $0.append(received.payload) }
            return .accepted(received)
        }
        let server = GRPCServerService(
            name: "test", address: ListenAddress(host: "127.0.0.1", port: port), flag: "--test-grpc-listen", required: true,
            maxMessageBytes: 1 << 20, services: [otlp], wrongProtocolHint: { "" }, shutdownGrace: .seconds(60),
            maxConnectionAge: .milliseconds(500),
            logger: Logger(label: "grpc-test"))
        let group = ServiceGroup(configuration: .init(services: [server], logger: Logger(label: "grpc-test")))
        async let running: Void = group.run()

        let requests = 3_000
        let peers = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Peers")
        let started = ContinuousClock.now
        let steady = try RunningProcess(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", peers.appendingPathComponent("grpc_steady.py").path, "--target", "127.0.0.1:\(port)",
            "--service", "age", "--requests", "\(requests)", "--threads", "6", "--body-bytes", "2000", "--timeout", "150", "--call-timeout", "60",
        ])
        let status = try await steady.waitForExit(timeout: .seconds(170))
        let elapsed = ContinuousClock.now - started
        await group.triggerGracefulShutdown()
        try await running

        try #require(status == 0, "grpc_steady failed: \(steady.standardError.suffix(1500))")
        print("connection age 0.5 s: \(requests) calls in \(elapsed): \(steady.standardOutput.split(separator: "\n").last ?? "")")
        #expect(elapsed > .seconds(2), "the run outlived several connection ages")
        #expect(steady.standardOutput.contains("\"ok\": \(requests),"), "\(steady.standardOutput.suffix(500))")
        let summary = try #require(steady.standardOutput.split(separator: "\n").last.map { Data($0.utf8) })
        let counts = try #require(try JSONSerialization.jsonObject(with: summary) as? [String: Any])
        let unavailable = (counts["refused"] as? [String: Int])?["UNAVAILABLE"] ?? 0
        let payloads = accepted.withLock { $0 }
        #expect(Set(payloads).count == requests, "every call accepted: \(Set(payloads).count) distinct of \(requests)")
        #expect(
            payloads.count - requests <= unavailable,
            "\(payloads.count - requests) calls accepted twice, more than the \(unavailable) the client was told had failed")
    }

    @Test("a host that is no IP address is refused with the flag named")
    func hostname() async throws {
        let service = GRPCServerService(
            name: "test", address: ListenAddress(host: "example.invalid", port: 0), flag: "--test-grpc-listen", required: true,
            maxMessageBytes: 1 << 20, services: [], wrongProtocolHint: { "" }, logger: Logger(label: "grpc-test"))
        await #expect(throws: GRPCListenError.self) { try await service.run() }
    }
}

/// A listening TCP socket on a free loopback port, holding it.
struct HeldPort {
    let descriptor: Int32
    let port: Int

    static func start() throws -> HeldPort {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(descriptor >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0 && listen(descriptor, 8) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return HeldPort(descriptor: descriptor, port: Int(UInt16(bigEndian: address.sin_port)))
    }

    func stop() { close(descriptor) }
}
