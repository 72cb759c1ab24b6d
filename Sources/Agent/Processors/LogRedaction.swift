import PeriscopeLogLines
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeServer

/// The processors stage for received logs: bodies and string attributes of log records that
/// arrive over OTLP pass through the same redaction rules as tailed lines before anything is
/// queued, so a secret never reaches the disk queue or the collector whichever way it came. A
/// request with nothing to redact keeps the client's protobuf bytes; one with a redaction is
/// encoded again from the redacted records. Spans and metrics pass unchanged.
struct LogRedaction: BatchSink {
    let redactor: Redactor
    let next: any BatchSink
    /// What the collector's decoder takes.
    static let limits = OTLPLimits.default

    /// Redaction runs regular expressions: on the blocking pool, so a large request never holds
    /// one of the cooperative threads the servers need for long. Most requests hold no string
    /// any rule's pre-check passes; that check (a table lookup per byte, cheaper than decoding the
    /// request was) runs where the request is, and such a request goes on at once, without the
    /// trip to the pool and back.
    func accept(_ request: OTLPRequestPayload) async throws(DeliveryError) {
        guard !redactor.isEmpty, case .logs(let groups) = request.batch, mayNeedRedaction(groups) else {
            try await next.accept(request)
            return
        }
        let processed: OTLPRequestPayload
        do {
            processed = try await BlockingIO.run { [self] in redacted(request) }
        } catch {
            throw .unavailable(reason: "the agent is shutting down", retryAfter: .seconds(1))
        }
        try await next.accept(processed)
    }

    /// Whether some string of a record (body or attribute) passes a rule's pre-check.
    func mayNeedRedaction(_ groups: [ResourceLogs]) -> Bool {
        groups.contains { group in
            group.scopes.contains { scope in
                scope.records.contains { record in
                    redactor.mayMatch(record.body) || record.attributes.contains { redactor.mayMatch($0.value) }
                }
            }
        }
    }

    /// `request` with its log records redacted.
    func redacted(_ request: OTLPRequestPayload) -> OTLPRequestPayload {
        guard !redactor.isEmpty, case .logs(let groups) = request.batch else { return request }
        var counts = [Int](repeating: 0, count: redactor.rules.count)
        var redactedGroups: [ResourceLogs]?
        for group in groups.indices {
            for scope in groups[group].scopes.indices {
                for index in groups[group].scopes[scope].records.indices {
                    let record = groups[group].scopes[scope].records[index]
                    guard let changed = redacted(record, counts: &counts) else { continue }
                    if redactedGroups == nil { redactedGroups = groups }
                    redactedGroups![group].scopes[scope].records[index] = changed
                }
            }
        }
        redactor.add(counts)
        guard let redactedGroups else { return request }
        return OTLPRequestPayload(batch: .logs(redactedGroups), protobuf: nil)
    }

    /// The record with secrets replaced, or nil when nothing in it matched.
    private func redacted(_ record: LogRecord, counts: inout [Int]) -> LogRecord? {
        var out = record
        var changed = false
        // A replacement can be longer than what it replaced: what grew past a receiver's limits is
        // cut, or the collector would refuse the batch this request joins.
        if let body = redactor.redacted(record.body, counts: &counts) {
            out.body = Self.limits.fitted(body)
            changed = true
        }
        for index in record.attributes.indices {
            guard let value = redactor.redacted(record.attributes[index].value, counts: &counts) else { continue }
            out.attributes[index] = Attribute(record.attributes[index].key, Self.limits.fitted(value))
            changed = true
        }
        return changed ? out : nil
    }
}
