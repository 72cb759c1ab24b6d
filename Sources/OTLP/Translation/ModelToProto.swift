import Foundation
import PeriscopeModel
import SwiftProtobuf

/// Turns the data model into generated OTLP messages for encoding.
enum ModelToProto {
    static func request(_ groups: [ResourceSpans]) -> OTLPTraceRequest {
        OTLPTraceRequest.with { request in
            request.resourceSpans = groups.map { group in
                OTLPResourceSpans.with {
                    $0.resource = resource(group.resource)
                    $0.scopeSpans = group.scopes.map { scopeGroup in
                        OTLPScopeSpans.with {
                            $0.scope = scope(scopeGroup.scope)
                            $0.spans = scopeGroup.spans.map(span)
                        }
                    }
                }
            }
        }
    }

    static func request(_ groups: [ResourceLogs]) -> OTLPLogsRequest {
        OTLPLogsRequest.with { request in
            request.resourceLogs = groups.map { group in
                OTLPResourceLogs.with {
                    $0.resource = resource(group.resource)
                    $0.scopeLogs = group.scopes.map { scopeGroup in
                        OTLPScopeLogs.with {
                            $0.scope = scope(scopeGroup.scope)
                            $0.logRecords = scopeGroup.records.map(logRecord)
                        }
                    }
                }
            }
        }
    }

    static func request(_ groups: [ResourceMetrics]) -> OTLPMetricsRequest {
        OTLPMetricsRequest.with { request in
            request.resourceMetrics = groups.map { group in
                OTLPResourceMetrics.with {
                    $0.resource = resource(group.resource)
                    $0.scopeMetrics = group.scopes.map { scopeGroup in
                        OTLPScopeMetrics.with {
                            $0.scope = scope(scopeGroup.scope)
                            $0.metrics = scopeGroup.metrics.map(metric)
                        }
                    }
                }
            }
        }
    }

    static func span(_ span: Span) -> OTLPSpan {
        var out = OTLPSpan()
        out.traceID = Data(span.traceID.bytes)
        out.spanID = Data(span.spanID.bytes)
        if let parent = span.parentSpanID { out.parentSpanID = Data(parent.bytes) }
        out.traceState = span.traceState
        out.flags = span.flags
        out.name = span.name
        out.kind = OTLPSpan.SpanKind(rawValue: span.kind.rawValue) ?? .unspecified
        out.startTimeUnixNano = span.startTimeUnixNano
        out.endTimeUnixNano = span.endTimeUnixNano
        out.attributes = attributes(span.attributes)
        out.events = span.events.map { event in
            OTLPSpan.Event.with {
                $0.timeUnixNano = event.timeUnixNano
                $0.name = event.name
                $0.attributes = attributes(event.attributes)
            }
        }
        out.links = span.links.map { link in
            OTLPSpan.Link.with {
                $0.traceID = Data(link.traceID.bytes)
                $0.spanID = Data(link.spanID.bytes)
                $0.traceState = link.traceState
                $0.attributes = attributes(link.attributes)
            }
        }
        if span.status.code != .unset || !span.status.message.isEmpty {
            out.status = .with {
                $0.code = Opentelemetry_Proto_Trace_V1_Status.StatusCode(rawValue: span.status.code.rawValue) ?? .unset
                $0.message = span.status.message
            }
        }
        return out
    }

    static func logRecord(_ record: LogRecord) -> OTLPLogRecord {
        var out = OTLPLogRecord()
        out.timeUnixNano = record.timeUnixNano
        out.observedTimeUnixNano = record.observedTimeUnixNano
        out.severityNumber = Opentelemetry_Proto_Logs_V1_SeverityNumber(rawValue: record.severityNumber.rawValue) ?? .unspecified
        out.severityText = record.severityText
        if record.body != .empty { out.body = value(record.body) }
        out.attributes = attributes(record.attributes)
        if let traceID = record.traceID { out.traceID = Data(traceID.bytes) }
        if let spanID = record.spanID { out.spanID = Data(spanID.bytes) }
        out.flags = record.flags
        out.eventName = record.eventName
        return out
    }

    static func metric(_ metric: Metric) -> OTLPMetric {
        var out = OTLPMetric()
        out.name = metric.name
        out.description_p = metric.description
        out.unit = metric.unit
        switch metric.data {
        case .gauge(let points):
            out.gauge = .with { $0.dataPoints = points.map(numberPoint) }
        case .sum(let points, let temporality, let isMonotonic):
            out.sum = .with {
                $0.dataPoints = points.map(numberPoint)
                $0.aggregationTemporality = .init(rawValue: temporality.rawValue) ?? .unspecified
                $0.isMonotonic = isMonotonic
            }
        case .histogram(let points, let temporality):
            out.histogram = .with {
                $0.aggregationTemporality = .init(rawValue: temporality.rawValue) ?? .unspecified
                $0.dataPoints = points.map { point in
                    OTLPHistogramDataPoint.with {
                        $0.attributes = attributes(point.attributes)
                        $0.startTimeUnixNano = point.startTimeUnixNano
                        $0.timeUnixNano = point.timeUnixNano
                        $0.count = point.count
                        if let sum = point.sum { $0.sum = sum }
                        $0.bucketCounts = point.bucketCounts
                        $0.explicitBounds = point.explicitBounds
                        if let min = point.min { $0.min = min }
                        if let max = point.max { $0.max = max }
                    }
                }
            }
        }
        return out
    }

    static func numberPoint(_ point: NumberPoint) -> OTLPNumberDataPoint {
        OTLPNumberDataPoint.with {
            $0.attributes = attributes(point.attributes)
            $0.startTimeUnixNano = point.startTimeUnixNano
            $0.timeUnixNano = point.timeUnixNano
            switch point.value {
            case .int(let int): $0.asInt = int
            case .double(let double): $0.asDouble = double
            }
        }
    }

    static func resource(_ resource: Resource) -> OTLPResource {
        OTLPResource.with {
            $0.attributes = attributes(resource.attributes)
            $0.droppedAttributesCount = resource.droppedAttributesCount
        }
    }

    static func scope(_ scope: InstrumentationScope) -> OTLPScope {
        OTLPScope.with {
            $0.name = scope.name
            $0.version = scope.version
            $0.attributes = attributes(scope.attributes)
        }
    }

    static func attributes(_ attributes: [Attribute]) -> [OTLPKeyValue] {
        attributes.map { attribute in
            var pair = OTLPKeyValue()
            pair.key = attribute.key
            pair.value = value(attribute.value)
            return pair
        }
    }

    static func value(_ value: AttributeValue) -> OTLPAnyValue {
        var out = OTLPAnyValue()
        switch value {
        case .empty: break
        case .string(let string): out.stringValue = string
        case .bool(let bool): out.boolValue = bool
        case .int(let int): out.intValue = int
        case .double(let double): out.doubleValue = double
        case .bytes(let bytes): out.bytesValue = Data(bytes)
        case .array(let values): out.arrayValue = .with { $0.values = values.map(Self.value) }
        case .keyValueList(let pairs): out.kvlistValue = .with { $0.values = attributes(pairs) }
        }
        return out
    }
}
