import PeriscopeLogLines
import PeriscopeModel

/// The processors stage for received logs: bodies and string attributes of log records that
/// arrive over OTLP pass through the same redaction rules as tailed lines before anything is
/// queued, so a secret never reaches the disk queue or the collector whichever way it came. A
/// request with nothing to redact keeps the client's protobuf bytes; one with a redaction is
/// encoded again from the redacted records. Spans and metrics pass unchanged.
struct LogRedaction: BatchSink {
    let redactor: Redactor
    let next: any BatchSink

    func accept(_ request: OTLPRequestPayload) async throws(DeliveryError) {
        try await next.accept(redacted(request))
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
        if let body = redactor.redacted(record.body, counts: &counts) {
            out.body = body
            changed = true
        }
        for index in record.attributes.indices {
            guard let value = redactor.redacted(record.attributes[index].value, counts: &counts) else { continue }
            out.attributes[index] = Attribute(record.attributes[index].key, value)
            changed = true
        }
        return changed ? out : nil
    }
}
