import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Plain HTTP requests from tests to the servers under test (loopback only).
public enum TestHTTP {
    public struct Reply: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]

        public var text: String { String(decoding: body, as: UTF8.self) }

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    /// POSTs `body`; `timeout` bounds the whole exchange (a server decoding a 64 MiB body in a debug
    /// build, beside a whole test run, may take longer than the default).
    /// `followingRedirects: false` answers a redirect itself (a sign-in's `Set-Cookie` comes with its 303).
    public static func post(
        _ url: String, body: [UInt8], headers: [String: String], timeout: Duration = .seconds(30), followingRedirects: Bool = true
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        return try await execute(request, timeout: timeout, client: followingRedirects ? client : notFollowing)
    }

    public static func get(_ url: String, headers: [String: String] = [:], followingRedirects: Bool = true) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        return try await execute(request, timeout: .seconds(30), client: followingRedirects ? client : notFollowing)
    }

    /// A client that fails a request to a port nobody listens on at once. `HTTPClient.shared`
    /// retries a refused connection until the request's deadline, so a request to an agent
    /// killed a moment before hung for the whole 30 s, and a load that sent one request at a
    /// time through it stopped while the test went on.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    private static let notFollowing: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    private static func execute(_ request: HTTPClientRequest, timeout: Duration, client: HTTPClient) async throws -> Reply {
        let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout / .nanoseconds(1))))
        let body = try await response.body.collect(upTo: 64 << 20)
        return Reply(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
            body: Array(body.readableBytesView))
    }
}
