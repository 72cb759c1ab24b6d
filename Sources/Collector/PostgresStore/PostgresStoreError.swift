import Foundation
import NIOCore
import NIOPosix
import PostgresNIO

/// What went wrong with the PostgreSQL store, and what to do about it.
enum PostgresStoreError: Error, CustomStringConvertible {
    /// The `--store` URL cannot be used.
    case badLocation(String)
    /// The server cannot be reached or refused the login.
    case unreachable(location: String, reason: String)
    /// A statement failed on the server.
    case statement(sqlState: String, message: String, what: String)
    /// The database holds another version of Periscope's tables.
    case schemaMismatch(found: Int, expected: Int)
    /// The database does not store text as UTF-8.
    case encoding(String)
    /// Sequences, or columns only a table's creation makes, are missing (dropped by hand).
    case damagedTables(missing: [String])

    var description: String {
        switch self {
        case .badLocation(let reason): return "--store: \(reason)"
        case .unreachable(let location, let reason):
            return "cannot connect to the PostgreSQL store at \(location): \(reason). Check that the server runs, "
                + "that it listens on that address (listen_addresses, port) and that pg_hba.conf lets this user in."
        case .statement(let state, let message, let what):
            return "PostgreSQL store: \(what) failed: \(message) (SQLSTATE \(state))"
        case .encoding(let found):
            return "the PostgreSQL database stores text as \(found); Periscope needs UTF8. Create the database with "
                + "CREATE DATABASE … ENCODING 'UTF8' TEMPLATE template0 and point --store at it."
        case .damagedTables(let missing):
            let shown = missing.prefix(10).joined(separator: ", ") + (missing.count > 10 ? " and \(missing.count - 10) more" : "")
            return "the PostgreSQL database's Periscope tables are damaged: \(shown) missing (dropped by hand?), which this "
                + "collector cannot make again without clashing with the data kept. Restore the database from a backup, or "
                + "DROP SCHEMA periscope CASCADE to start over (losing its data)."
        case .schemaMismatch(let found, let expected):
            return "the PostgreSQL database holds Periscope tables of schema \(found), written by a newer Periscope; this "
                + "collector reads and writes schema \(expected). Run the Periscope version that wrote it, or point --store "
                + "at another database (or DROP SCHEMA periscope CASCADE to start over, losing its data)."
        }
    }

    /// The SQLSTATE of a failed statement (`40001` serialization failure, `40P01` deadlock, …).
    var sqlState: String? {
        if case .statement(let state, _, _) = self { return state }
        return nil
    }

    /// The server ended the statement: its `statement_timeout` passed, or someone cancelled it (57014).
    var isStatementCancelled: Bool { sqlState == "57014" }

    /// Whether a read that failed on a replica should be asked of the primary instead: the
    /// replica cannot be reached or lost its connection (class 08), is shutting down or
    /// starting (57P01–57P03), its recovery cancelled the query (40001), or has not replayed the
    /// tables or columns yet (42P01, 42703), or a query ran past the replica's shorter statement
    /// timeout (57014; the primary allows two minutes).
    var isReplicaUnavailable: Bool {
        switch self {
        case .unreachable: return true
        case .statement(let state, _, _):
            return state.hasPrefix("08") || ["57P01", "57P02", "57P03", "40001", "42P01", "42703", "57014"].contains(state)
        default: return false
        }
    }

    /// The replica cannot be reached at all (not one query's trouble): worth passing over for a while.
    var isReplicaDown: Bool {
        switch self {
        case .unreachable: return true
        case .statement(let state, _, _): return state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state)
        default: return false
        }
    }

    /// A failure from PostgresNIO, with the server's message where there is one (its own
    /// description hides it).
    static func from(_ error: any Error, what: String) -> PostgresStoreError {
        if let store = error as? PostgresStoreError { return store }
        if let psql = error as? PSQLError {
            if let info = psql.serverInfo {
                return .statement(sqlState: info[.sqlState] ?? "?????", message: info[.message] ?? "\(psql.code)", what: what)
            }
            return .statement(sqlState: "08000", message: reason(psql), what: what)
        }
        return .statement(sqlState: "08000", message: reason(error), what: what)
    }

    /// What a failure without a server message means, in words: PostgresNIO's own description
    /// of these is its error code (`connectionError`, `sslUnsupported`).
    static func reason(_ error: any Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if let connection = error as? NIOConnectionError {
            let failures = connection.connectionErrors.map { "\($0.target.ipAddress ?? "\($0.target)"): \(reason($0.error))" }
            if !failures.isEmpty { return failures.joined(separator: "; ") }
            if connection.dnsAError != nil || connection.dnsAAAAError != nil { return "the host name \(connection.host) does not resolve" }
            return "no address to connect to for \(connection.host)"
        }
        if case .connectTimeout? = error as? ChannelError { return "no answer within the connect timeout" }
        guard let psql = error as? PSQLError else { return "\(error)" }
        let underlying = psql.underlying.map { " (\(reason($0)))" } ?? ""
        switch psql.code {
        case .connectionError:
            return psql.underlying.map(reason) ?? "the connection failed"
        case .authMechanismRequiresPassword:
            return "the server asks for a password and the URL has none; write postgres://USER:PASSWORD@HOST/DATABASE"
        case .unsupportedAuthMechanism:
            return "the server asks for an authentication method this client does not speak; allow scram-sha-256, md5 or password for this user in pg_hba.conf"
        case .saslError:
            return "SCRAM authentication failed\(underlying); check the password"
        case .sslUnsupported:
            return "the server does not accept TLS, which sslmode=require or verify-full asks for; turn on ssl in postgresql.conf, or use sslmode=disable on a trusted network"
        case .failedToAddSSLHandler:
            return "TLS could not be set up\(underlying)"
        case .receivedUnencryptedDataAfterSSLRequest:
            return "the server answered a TLS request in plain text; it is not a PostgreSQL server, or something between rewrites the connection"
        case .serverClosedConnection, .uncleanShutdown:
            return "the server closed the connection\(underlying)"
        case .clientClosedConnection:
            return "the connection was closed"
        case .queryCancelled:
            return "the query was cancelled"
        case .messageDecodingFailure, .unexpectedBackendMessage:
            return "the server sent what a PostgreSQL server does not (\(psql.code)); is this port a PostgreSQL server?"
        default:
            return "\(psql.code)\(underlying)"
        }
    }
}
