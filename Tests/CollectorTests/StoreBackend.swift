import Foundation
@testable import PeriscopeCollector
import PeriscopeTesting
import Synchronization
import Testing

/// The store backends the conformance tests run against: the embedded SQLite store and the
/// PostgreSQL store on a real PostgreSQL 15 server of the test process's own.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// Databases by the directory name a test gave, so a store opened again on the same
    /// directory (a "restart") finds its database again.
    private static let databases = Mutex<[String: String]>([:])

    /// A store at `directory` (SQLite) or in a database that stands for it (PostgreSQL).
    func make(
        _ directory: String, indexedAttributes: Set<String> = SQLiteStore.defaultIndexedAttributes,
        objectives: [ServiceLevelObjective] = [], maxOperationsPerService: Int = OperationLimit.defaultMaxPerService
    ) throws -> any TelemetryStore {
        switch self {
        case .sqlite:
            return try SQLiteStore(
                directory: directory, indexedAttributes: indexedAttributes, objectives: objectives,
                maxOperationsPerService: maxOperationsPerService)
        case .postgres:
            let server = try PostgresServer.shared()
            let url = try Self.databases.withLock { databases in
                if let known = databases[directory] { return known }
                let created = try server.createDatabase()
                databases[directory] = created
                return created
            }
            return try PostgresStore(
                location: PostgresLocation(url: url), indexedAttributes: indexedAttributes, objectives: objectives,
                maxOperationsPerService: maxOperationsPerService, connections: 4)
        }
    }
}
