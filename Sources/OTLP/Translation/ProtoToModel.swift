import PeriscopeModel
import SwiftProtobuf

/// Turns generated OTLP messages into the data model, enforcing OTLP's rules (ID lengths)
/// and the configured `OTLPLimits`. Every refusal names the offending field.
struct ProtoToModel {
    var limits: OTLPLimits
    var nowUnixNano: UInt64

    func resourceSpans(_ groups: [OTLPResourceSpans]) throws(OTLPError) -> [ResourceSpans] {
        var out = [ResourceSpans]()
        out.reserveCapacity(groups.count)
        for group in groups {
            var scopes = [ScopeSpans]()
            scopes.reserveCapacity(group.scopeSpans.count)
            for scopeGroup in group.scopeSpans {
                var spans = [Span]()
                spans.reserveCapacity(scopeGroup.spans.count)
                for span in scopeGroup.spans { spans.append(try self.span(span)) }
                scopes.append(ScopeSpans(scope: try scope(scopeGroup.scope), spans: spans))
            }
            out.append(ResourceSpans(resource: try resource(group.resource), scopes: scopes))
        }
        return out
    }

    func resourceLogs(_ groups: [OTLPResourceLogs]) throws(OTLPError) -> [ResourceLogs] {
        var out = [ResourceLogs]()
        out.reserveCapacity(groups.count)
        for group in groups {
            var scopes = [ScopeLogs]()
            for scopeGroup in group.scopeLogs {
                var records = [LogRecord]()
                records.reserveCapacity(scopeGroup.logRecords.count)
                for record in scopeGroup.logRecords { records.append(try logRecord(record)) }
                scopes.append(ScopeLogs(scope: try scope(scopeGroup.scope), records: records))
            }
            out.append(ResourceLogs(resource: try resource(group.resource), scopes: scopes))
        }
        return out
    }

    /// Exponential histograms and summaries are not stored yet; their points are counted
    /// in `rejectedPoints` so the client hears about them through OTLP partial success.
    func resourceMetrics(_ groups: [OTLPResourceMetrics], rejectedPoints: inout Int) throws(OTLPError) -> [ResourceMetrics] {
        var out = [ResourceMetrics]()
        for group in groups {
            var scopes = [ScopeMetrics]()
            for scopeGroup in group.scopeMetrics {
                var metrics = [Metric]()
                for metric in scopeGroup.metrics {
                    if let converted = try self.metric(metric, rejectedPoints: &rejectedPoints) {
                        metrics.append(converted)
                    }
                }
                scopes.append(ScopeMetrics(scope: try scope(scopeGroup.scope), metrics: metrics))
            }
            out.append(ResourceMetrics(resource: try resource(group.resource), scopes: scopes))
        }
        return out
    }

    // MARK: - Items

    func span(_ span: OTLPSpan) throws(OTLPError) -> Span {
        guard let traceID = TraceID(bytes: span.traceID), !traceID.isZero else {
            throw OTLPError(.invalid, "span '\(span.name)': traceId must be 16 non-zero bytes, got \(span.traceID.count) bytes")
        }
        guard let spanID = SpanID(bytes: span.spanID), !spanID.isZero else {
            throw OTLPError(.invalid, "span '\(span.name)': spanId must be 8 non-zero bytes, got \(span.spanID.count) bytes")
        }
        var parent: SpanID?
        if !span.parentSpanID.isEmpty {
            guard let parentID = SpanID(bytes: span.parentSpanID) else {
                throw OTLPError(.invalid, "span '\(span.name)': parentSpanId must be empty or 8 bytes, got \(span.parentSpanID.count) bytes")
            }
            parent = parentID.isZero ? nil : parentID
        }
        try checkString(span.name, "span name")
        guard let kind = Span.Kind(rawValue: span.kind.rawValue) else {
            throw OTLPError(.invalid, "span '\(span.name)': unknown kind \(span.kind.rawValue)")
        }
        let code = Span.Status.Code(rawValue: span.status.code.rawValue) ?? .unset
        var events = [Span.Event]()
        events.reserveCapacity(span.events.count)
        for event in span.events {
            events.append(Span.Event(
                timeUnixNano: event.timeUnixNano, name: event.name,
                attributes: try attributes(event.attributes, "span event '\(event.name)'")))
        }
        var links = [Span.Link]()
        for link in span.links {
            guard let linkTrace = TraceID(bytes: link.traceID), let linkSpan = SpanID(bytes: link.spanID) else {
                throw OTLPError(.invalid, "span '\(span.name)': a link needs a 16-byte traceId and an 8-byte spanId")
            }
            links.append(Span.Link(
                traceID: linkTrace, spanID: linkSpan, traceState: link.traceState,
                attributes: try attributes(link.attributes, "span link")))
        }
        return Span(
            traceID: traceID, spanID: spanID, parentSpanID: parent, traceState: span.traceState, flags: span.flags,
            name: span.name, kind: kind, startTimeUnixNano: span.startTimeUnixNano, endTimeUnixNano: span.endTimeUnixNano,
            attributes: try attributes(span.attributes, "span '\(span.name)'"), events: events, links: links,
            status: Span.Status(code: code, message: span.status.message))
    }

    func logRecord(_ record: OTLPLogRecord) throws(OTLPError) -> LogRecord {
        var traceID: TraceID?
        if !record.traceID.isEmpty {
            guard let id = TraceID(bytes: record.traceID) else {
                throw OTLPError(.invalid, "log record: traceId must be empty or 16 bytes, got \(record.traceID.count) bytes")
            }
            traceID = id.isZero ? nil : id
        }
        var spanID: SpanID?
        if !record.spanID.isEmpty {
            guard let id = SpanID(bytes: record.spanID) else {
                throw OTLPError(.invalid, "log record: spanId must be empty or 8 bytes, got \(record.spanID.count) bytes")
            }
            spanID = id.isZero ? nil : id
        }
        let severity = record.severityNumber.rawValue
        guard (0...24).contains(severity) else {
            throw OTLPError(.invalid, "log record: severityNumber must be 0–24, got \(severity)")
        }
        return LogRecord(
            timeUnixNano: record.timeUnixNano, observedTimeUnixNano: record.observedTimeUnixNano,
            severityNumber: Severity(rawValue: severity), severityText: record.severityText,
            body: record.hasBody ? try value(record.body, depth: 0, "log body") : .empty,
            attributes: try attributes(record.attributes, "log record"),
            traceID: traceID, spanID: spanID, flags: record.flags, eventName: record.eventName)
    }

    func metric(_ metric: OTLPMetric, rejectedPoints: inout Int) throws(OTLPError) -> Metric? {
        try checkString(metric.name, "metric name")
        let data: Metric.Data
        switch metric.data {
        case .gauge(let gauge):
            data = .gauge(try numberPoints(gauge.dataPoints, metric.name))
        case .sum(let sum):
            data = .sum(
                try numberPoints(sum.dataPoints, metric.name),
                temporality: Metric.Temporality(rawValue: sum.aggregationTemporality.rawValue) ?? .unspecified,
                isMonotonic: sum.isMonotonic)
        case .histogram(let histogram):
            var points = [HistogramPoint]()
            for point in histogram.dataPoints {
                guard point.bucketCounts.isEmpty || point.bucketCounts.count == point.explicitBounds.count + 1 else {
                    throw OTLPError(.invalid, "metric '\(metric.name)': a histogram point needs bucketCounts = explicitBounds + 1 (\(point.bucketCounts.count) vs \(point.explicitBounds.count))")
                }
                points.append(HistogramPoint(
                    attributes: try attributes(point.attributes, "metric '\(metric.name)' point"),
                    startTimeUnixNano: point.startTimeUnixNano, timeUnixNano: point.timeUnixNano, count: point.count,
                    sum: point.hasSum ? point.sum : nil, bucketCounts: point.bucketCounts,
                    explicitBounds: point.explicitBounds,
                    min: point.hasMin ? point.min : nil, max: point.hasMax ? point.max : nil))
            }
            data = .histogram(points, temporality: Metric.Temporality(rawValue: histogram.aggregationTemporality.rawValue) ?? .unspecified)
        case .exponentialHistogram(let histogram):
            rejectedPoints += histogram.dataPoints.count
            return nil
        case .summary(let summary):
            rejectedPoints += summary.dataPoints.count
            return nil
        case nil:
            return nil
        }
        return Metric(name: metric.name, description: metric.description_p, unit: metric.unit, data: data)
    }

    private func numberPoints(_ points: [OTLPNumberDataPoint], _ metricName: String) throws(OTLPError) -> [NumberPoint] {
        var out = [NumberPoint]()
        out.reserveCapacity(points.count)
        for point in points {
            let value: NumberPoint.Value
            switch point.value {
            case .asInt(let int): value = .int(int)
            case .asDouble(let double): value = .double(double)
            case nil: value = .int(0)
            }
            out.append(NumberPoint(
                attributes: try attributes(point.attributes, "metric '\(metricName)' point"),
                startTimeUnixNano: point.startTimeUnixNano, timeUnixNano: point.timeUnixNano, value: value))
        }
        return out
    }

    // MARK: - Shared parts

    func resource(_ resource: OTLPResource) throws(OTLPError) -> Resource {
        Resource(attributes: try attributes(resource.attributes, "resource"), droppedAttributesCount: resource.droppedAttributesCount)
    }

    func scope(_ scope: OTLPScope) throws(OTLPError) -> InstrumentationScope {
        InstrumentationScope(name: scope.name, version: scope.version, attributes: try attributes(scope.attributes, "scope"))
    }

    func attributes(_ pairs: [OTLPKeyValue], _ owner: @autoclosure () -> String) throws(OTLPError) -> [Attribute] {
        guard pairs.count <= limits.maxAttributesPerItem else {
            throw OTLPError(.invalid, "\(owner()): \(pairs.count) attributes, more than the limit of \(limits.maxAttributesPerItem)")
        }
        var out = [Attribute]()
        out.reserveCapacity(pairs.count)
        for pair in pairs {
            try checkString(pair.key, "attribute key")
            out.append(Attribute(pair.key, try value(pair.value, depth: 0, "attribute '\(pair.key)'")))
        }
        return out
    }

    func value(_ value: OTLPAnyValue, depth: Int, _ owner: @autoclosure () -> String) throws(OTLPError) -> AttributeValue {
        guard depth < limits.maxValueDepth else {
            throw OTLPError(.invalid, "\(owner()): values nested deeper than \(limits.maxValueDepth) levels")
        }
        switch value.value {
        case nil: return .empty
        case .stringValue(let string):
            try checkString(string, owner())
            return .string(string)
        case .boolValue(let bool): return .bool(bool)
        case .intValue(let int): return .int(int)
        case .doubleValue(let double): return .double(double)
        case .bytesValue(let bytes):
            guard bytes.count <= limits.maxValueBytes else {
                throw OTLPError(.invalid, "\(owner()): \(bytes.count) bytes, more than the limit of \(limits.maxValueBytes)")
            }
            return .bytes(Array(bytes))
        case .arrayValue(let array):
            guard array.values.count <= limits.maxAttributesPerItem else {
                throw OTLPError(.invalid, "\(owner()): an array of \(array.values.count) values, more than the limit of \(limits.maxAttributesPerItem)")
            }
            var out = [AttributeValue]()
            out.reserveCapacity(array.values.count)
            for element in array.values { out.append(try self.value(element, depth: depth + 1, owner())) }
            return .array(out)
        case .kvlistValue(let list):
            guard list.values.count <= limits.maxAttributesPerItem else {
                throw OTLPError(.invalid, "\(owner()): a list of \(list.values.count) pairs, more than the limit of \(limits.maxAttributesPerItem)")
            }
            var out = [Attribute]()
            for pair in list.values {
                try checkString(pair.key, "attribute key")
                out.append(Attribute(pair.key, try self.value(pair.value, depth: depth + 1, owner())))
            }
            return .keyValueList(out)
        }
    }

    private func checkString(_ string: String, _ owner: @autoclosure () -> String) throws(OTLPError) {
        guard string.utf8.count <= limits.maxValueBytes else {
            throw OTLPError(.invalid, "\(owner()): \(string.utf8.count) bytes, more than the limit of \(limits.maxValueBytes)")
        }
    }
}
