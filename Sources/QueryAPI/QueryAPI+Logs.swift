import PeriscopeModel

extension QueryAPI {
    /// `GET /api/v1/logs?trace_id=…`: log records, oldest first.
    public struct Logs: Codable, Hashable, Sendable {
        public var logs: [Log]
        /// The collector's read budget ran out before the whole range was searched (a text
        /// search over a long range, say): `logs` are then the matches of the part searched
        /// whole, which `resumeUnixNano` bounds.
        public var truncated: Bool
        /// Set when `truncated`. Newest first, every match later than this time is in `logs`:
        /// ask again with `end` at it for the earlier ones. Oldest first, every match before it
        /// is: ask again with `start` at it. Nothing is answered twice, nothing skipped. At the
        /// range's own end (start) nothing could be searched whole, as when more stored blocks
        /// than the budget reads span that instant: narrow the search instead.
        public var resumeUnixNano: UInt64?

        public init(logs: [Log], truncated: Bool = false, resumeUnixNano: UInt64? = nil) {
            self.logs = logs
            self.truncated = truncated
            self.resumeUnixNano = resumeUnixNano
        }

        /// Where a search over `start`…`end` reads on from, when the read budget cut it: the
        /// bound past which `logs` holds every match (`resumeUnixNano`), or nil when that bound is
        /// the range's own edge (newest first its end, oldest first its start), so no part was
        /// searched whole. Also nil for a whole answer: check `truncated` first.
        public func readsOn(newestFirst: Bool, start: UInt64?, end: UInt64?) -> UInt64? {
            guard truncated, let resume = resumeUnixNano else { return nil }
            let edge = newestFirst ? min(end ?? .max, UInt64(Int64.max)) : start ?? 0
            return newestFirst ? (resume < edge ? resume : nil) : (resume > edge ? resume : nil)
        }

        /// Also reads the answers of collectors from before `truncated` and `resumeUnixNano`.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            logs = try container.decode([Log].self, forKey: .logs)
            truncated = try container.decodeIfPresent(Bool.self, forKey: .truncated) ?? false
            resumeUnixNano = try container.decodeIfPresent(UInt64.self, forKey: .resumeUnixNano)
        }
    }

    public struct Log: Codable, Hashable, Sendable {
        public var timeUnixNano: UInt64
        public var observedTimeUnixNano: UInt64
        public var service: String
        public var severityNumber: Int
        /// The source's own level text, or the OTLP range name (`INFO`, `ERROR`, …) when it gave none.
        public var severityText: String
        public var body: AttributeValue
        public var attributes: [String: AttributeValue]
        public var traceID: TraceID?
        public var spanID: SpanID?

        public init(
            timeUnixNano: UInt64, observedTimeUnixNano: UInt64, service: String, severityNumber: Int,
            severityText: String, body: AttributeValue, attributes: [String: AttributeValue],
            traceID: TraceID?, spanID: SpanID?
        ) {
            self.timeUnixNano = timeUnixNano
            self.observedTimeUnixNano = observedTimeUnixNano
            self.service = service
            self.severityNumber = severityNumber
            self.severityText = severityText
            self.body = body
            self.attributes = attributes
            self.traceID = traceID
            self.spanID = spanID
        }
    }
}
