import PeriscopeModel

extension QueryAPI {
    /// `GET /api/v1/services`: every service seen, with its operations.
    public struct Services: Codable, Hashable, Sendable {
        public var services: [Service]

        public init(services: [Service]) { self.services = services }
    }

    public struct Service: Codable, Hashable, Sendable {
        public var name: String
        /// At most the question's `limit` operations, by name.
        public var operations: [Operation]
        /// Operations the service has; more than `operations.count` when some were left out.
        public var operationCount: Int?

        public init(name: String, operations: [Operation], operationCount: Int? = nil) {
            self.name = name
            self.operations = operations
            self.operationCount = operationCount
        }
    }

    public struct Operation: Codable, Hashable, Sendable {
        public var name: String
        public var kind: String

        public init(name: String, kind: String) {
            self.name = name
            self.kind = kind
        }
    }

    /// `GET /api/v1/dependencies`: caller → callee edges from parent/child spans across services.
    public struct Dependencies: Codable, Hashable, Sendable {
        public var edges: [Dependency]
        /// Spans the collector read to count them.
        public var spansRead: Int
        /// The collector's read budget ran out before the whole range was read: the edges count
        /// its newest part only. A narrower range counts whole.
        public var truncated: Bool

        public init(edges: [Dependency], spansRead: Int = 0, truncated: Bool = false) {
            self.edges = edges
            self.spansRead = spansRead
            self.truncated = truncated
        }

        /// Also reads the answers of collectors from before `spansRead` and `truncated`.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            edges = try container.decode([Dependency].self, forKey: .edges)
            spansRead = try container.decodeIfPresent(Int.self, forKey: .spansRead) ?? 0
            truncated = try container.decodeIfPresent(Bool.self, forKey: .truncated) ?? false
        }
    }

    public struct Dependency: Codable, Hashable, Sendable {
        public var caller: String
        public var callee: String
        public var calls: Int
        public var errors: Int

        public init(caller: String, callee: String, calls: Int, errors: Int) {
            self.caller = caller
            self.callee = callee
            self.calls = calls
            self.errors = errors
        }
    }
}
