import Foundation
import NIOSSL
import PeriscopeDelivery
import PostgresNIO

/// Where the PostgreSQL store is: a `postgres://user:password@host:port/database` URL, as
/// `--store` and the `store:` key take it (`sslmode=require` or `verify-full` turns on TLS
/// with the system's trust roots and host name checks; without it, or with `disable`, the
/// connection is plain, for loopback and private networks).
struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String
    var requiresTLS: Bool

    /// Whether `text` names a PostgreSQL store rather than a directory.
    static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    init(url text: String) throws(PostgresStoreError) {
        guard Self.isURL(text), let components = URLComponents(string: text), let host = components.host, !host.isEmpty else {
            throw .badLocation("\(Self.redacted(text)) is not a PostgreSQL URL; write postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
        guard let user = components.user, !user.isEmpty else {
            throw .badLocation("\(Self.redacted(text)) names no user; write postgres://USER@HOST/DATABASE")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw .badLocation("\(Self.redacted(text)) names no database; write postgres://USER@HOST/DATABASE")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw .badLocation("port \(port) is out of range (1–65535)") }
        var requiresTLS = false
        for item in components.queryItems ?? [] {
            switch (item.name, item.value ?? "") {
            case ("sslmode", "disable"): requiresTLS = false
            case ("sslmode", "require"), ("sslmode", "verify-full"): requiresTLS = true
            case ("sslmode", let mode):
                throw .badLocation("sslmode=\(mode) is not supported; use disable, require or verify-full")
            case (let name, _):
                throw .badLocation("unknown URL parameter \(name); the one known is sslmode")
            }
        }
        // An IPv6 literal is written in brackets in the URL (`[::1]`); the address is what is inside.
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = port
        self.user = user
        password = components.password
        self.database = database.removingPercentEncoding ?? database
        self.requiresTLS = requiresTLS
    }

    /// The URL without its password, for logs and errors.
    var description: String { "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" }

    static func redacted(_ text: String) -> String { "'\(EndpointURL.redacted(text, hidingUser: false))'" }

    /// Sent when a connection starts, whatever the server's or role's defaults: text is UTF-8;
    /// nothing waits forever on a lock or a transaction left open by a collector whose host
    /// vanished (its backend is ended by the idle-transaction timeout and keepalives); a
    /// statement ends within two minutes.
    static let sessionSettings: [(String, String)] = [
        ("client_encoding", "UTF8"),
        ("lock_timeout", "30s"),
        ("statement_timeout", "120s"),
        ("idle_in_transaction_session_timeout", "60s"),
        ("tcp_keepalives_idle", "30"),
        ("tcp_keepalives_interval", "10"),
        ("tcp_keepalives_count", "3"),
        ("application_name", "periscope-collector"),
    ]

    /// `statementTimeout` replaces `sessionSettings`' two minutes (a replica's statements end
    /// before the collector stops waiting for their answer).
    func configuration(statementTimeout: Duration? = nil) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS = requiresTLS
            ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(10)
        var settings = Self.sessionSettings
        if let statementTimeout, let index = settings.firstIndex(where: { $0.0 == "statement_timeout" }) {
            settings[index].1 = "\(max(1, statementTimeout.wholeNanoseconds / 1_000_000))ms"
        }
        configuration.options.additionalStartupParameters = settings
        return configuration
    }
}
