import Logging
import PeriscopeModel
import Synchronization

/// Caps the distinct operation names one service has in a day's rollups and operations list.
/// Span names that carry IDs (`GET /users/8812` instead of the route) would otherwise make a
/// row per request: memory, bucket size and every signals question grow without bound. Past
/// `maxPerService`, a service's new names are counted under `overflowName` — the span keeps its
/// own name in its trace, only the aggregates fold — as OpenTelemetry's span metrics connector
/// does with its overflow series. The first fold per service and day is logged, naming it.
final class OperationLimit: Sendable {
    /// The row that collects a service's operations beyond the limit.
    static let overflowName = "periscope.other_operations"
    static let defaultMaxPerService = 2_000

    let maxPerService: Int
    private let day: String
    private let admitted: Mutex<[String: Set<String>]>
    private static let logger = Logger(label: "periscope.collector.cardinality")

    /// `known`: the names the partition already lists, admitted whatever their number.
    init(maxPerService: Int, day: String, known: [(service: String, operation: String)] = []) {
        self.maxPerService = max(1, maxPerService)
        self.day = day
        var admitted = [String: Set<String>]()
        for (service, operation) in known { admitted[service, default: []].insert(operation) }
        self.admitted = Mutex(admitted)
    }

    /// Whether any of `operations` of `service` would be admitted as a new name (the service is
    /// below its limit and does not list it yet).
    func wouldAdmitNew(service: String, operations: some Sequence<String>) -> Bool {
        admitted.withLock { admitted in
            let known = admitted[service] ?? []
            return known.count < maxPerService && operations.contains { !known.contains($0) }
        }
    }

    /// Adds names admitted elsewhere (another collector on a shared store), whatever their number.
    func learn(_ known: [(service: String, operation: String)]) {
        admitted.withLock { admitted in
            for (service, operation) in known { admitted[service, default: []].insert(operation) }
        }
    }

    /// The name `operation` of `service` is aggregated under: its own, or `overflowName`.
    func name(service: String, operation: String) -> String {
        let (name, firstFold) = admitted.withLock { admitted -> (String, Bool) in
            if admitted[service]?.contains(operation) == true { return (operation, false) }
            let count = admitted[service]?.count ?? 0
            if count < maxPerService {
                admitted[service, default: []].insert(operation)
                return (operation, false)
            }
            let firstFold = admitted[service]?.contains(Self.overflowName) != true
            if firstFold { admitted[service, default: []].insert(Self.overflowName) }
            return (Self.overflowName, firstFold)
        }
        if firstFold {
            Self.logger.warning("""
                service '\(ControlCharacters.escaped(service))' has more than \(maxPerService) distinct operation names on \(day); \
                further ones are counted as '\(Self.overflowName)' in signals and SLOs (the spans keep their names). \
                Name spans by route or template (GET /users/{id}), not by URL; raise --max-operations-per-service if they are real.
                """)
        }
        return name
    }
}
