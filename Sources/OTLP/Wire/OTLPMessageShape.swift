import PeriscopeModel
import SwiftProtobuf

/// The messages of OTLP's export requests as the generated decoder builds them (the `.proto`
/// files in `Proto/`): for each, the fields that hold messages or repeated numbers. Everything
/// else in a message (strings, scalars, fields the files do not know) the decoder keeps as bytes
/// or skips, building nothing that grows with what a request repeats.
enum OTLPMessageShape: UInt8, Sendable, CaseIterable {
    case traceRequest, logsRequest, metricsRequest
    case resourceSpans, resourceLogs, resourceMetrics, resource
    case scope, keyValue, anyValue, arrayValue, keyValueList
    case scopeSpans, span, event, link, status
    case scopeLogs, logRecord
    case scopeMetrics, metric, gauge, sum, histogram, exponentialHistogram, summary
    case numberPoint, histogramPoint, exponentialHistogramPoint, buckets, summaryPoint, valueAtQuantile, exemplar

    /// What one field holds, when it is more than bytes or a number.
    enum Field: Sendable {
        /// A message the decoder merges into when it comes again (protobuf's rule for a field that is
        /// not repeated). Its number is below 16, as `ElementCount` counts copies in 4 bits a field.
        case message(OTLPMessageShape, name: String)
        case messages(OTLPMessageShape)
        /// `repeated fixed64` or `repeated double`: 8 bytes a value when packed. SwiftProtobuf grows
        /// the array by exactly each further packed run, copying it every time; number below 16.
        case fixedNumbers(name: String)
        /// `repeated uint64`: a varint a value; number below 16.
        case varintNumbers(name: String)
    }

    /// The export request of `signal`.
    init(request signal: Signal) {
        switch signal {
        case .traces: self = .traceRequest
        case .logs: self = .logsRequest
        case .metrics: self = .metricsRequest
        }
    }

    /// What field `number` holds, or nil for bytes, scalars and fields the decoder does not know.
    func field(_ number: Int) -> Field? {
        switch (self, number) {
        case (.traceRequest, 1): .messages(.resourceSpans)
        case (.logsRequest, 1): .messages(.resourceLogs)
        case (.metricsRequest, 1): .messages(.resourceMetrics)
        case (.resourceSpans, 1), (.resourceLogs, 1), (.resourceMetrics, 1): .message(.resource, name: "resource")
        case (.resourceSpans, 2): .messages(.scopeSpans)
        case (.resourceLogs, 2): .messages(.scopeLogs)
        case (.resourceMetrics, 2): .messages(.scopeMetrics)
        case (.resource, 1), (.scope, 3), (.keyValueList, 1), (.span, 9), (.event, 3), (.link, 4), (.logRecord, 6),
             (.metric, 12), (.numberPoint, 7), (.histogramPoint, 9), (.exponentialHistogramPoint, 1), (.summaryPoint, 7),
             (.exemplar, 7):
            .messages(.keyValue)
        case (.keyValue, 2): .message(.anyValue, name: "value")
        case (.anyValue, 5): .message(.arrayValue, name: "array_value")
        case (.anyValue, 6): .message(.keyValueList, name: "kvlist_value")
        case (.arrayValue, 1): .messages(.anyValue)
        case (.scopeSpans, 1), (.scopeLogs, 1), (.scopeMetrics, 1): .message(.scope, name: "scope")
        case (.scopeSpans, 2): .messages(.span)
        case (.span, 11): .messages(.event)
        case (.span, 13): .messages(.link)
        case (.span, 15): .message(.status, name: "status")
        case (.scopeLogs, 2): .messages(.logRecord)
        case (.logRecord, 5): .message(.anyValue, name: "body")
        case (.scopeMetrics, 2): .messages(.metric)
        case (.metric, 5): .message(.gauge, name: "gauge")
        case (.metric, 7): .message(.sum, name: "sum")
        case (.metric, 9): .message(.histogram, name: "histogram")
        case (.metric, 10): .message(.exponentialHistogram, name: "exponential_histogram")
        case (.metric, 11): .message(.summary, name: "summary")
        case (.gauge, 1), (.sum, 1): .messages(.numberPoint)
        case (.histogram, 1): .messages(.histogramPoint)
        case (.exponentialHistogram, 1): .messages(.exponentialHistogramPoint)
        case (.summary, 1): .messages(.summaryPoint)
        case (.numberPoint, 5), (.histogramPoint, 8), (.exponentialHistogramPoint, 11): .messages(.exemplar)
        case (.histogramPoint, 6): .fixedNumbers(name: "bucket_counts")
        case (.histogramPoint, 7): .fixedNumbers(name: "explicit_bounds")
        case (.exponentialHistogramPoint, 8): .message(.buckets, name: "positive")
        case (.exponentialHistogramPoint, 9): .message(.buckets, name: "negative")
        case (.buckets, 2): .varintNumbers(name: "bucket_counts")
        case (.summaryPoint, 6): .messages(.valueAtQuantile)
        default: nil
        }
    }

    /// The message's full protobuf name, for errors: the generated message's own.
    var protoName: String { message.protoMessageName }

    /// The generated message the decoder builds for this shape.
    private var message: any SwiftProtobuf.Message.Type {
        switch self {
        case .traceRequest: OTLPTraceRequest.self
        case .logsRequest: OTLPLogsRequest.self
        case .metricsRequest: OTLPMetricsRequest.self
        case .resourceSpans: OTLPResourceSpans.self
        case .resourceLogs: OTLPResourceLogs.self
        case .resourceMetrics: OTLPResourceMetrics.self
        case .resource: OTLPResource.self
        case .scope: OTLPScope.self
        case .keyValue: OTLPKeyValue.self
        case .anyValue: OTLPAnyValue.self
        case .arrayValue: Opentelemetry_Proto_Common_V1_ArrayValue.self
        case .keyValueList: Opentelemetry_Proto_Common_V1_KeyValueList.self
        case .scopeSpans: OTLPScopeSpans.self
        case .span: OTLPSpan.self
        case .event: OTLPSpan.Event.self
        case .link: OTLPSpan.Link.self
        case .status: Opentelemetry_Proto_Trace_V1_Status.self
        case .scopeLogs: OTLPScopeLogs.self
        case .logRecord: OTLPLogRecord.self
        case .scopeMetrics: OTLPScopeMetrics.self
        case .metric: OTLPMetric.self
        case .gauge: Opentelemetry_Proto_Metrics_V1_Gauge.self
        case .sum: Opentelemetry_Proto_Metrics_V1_Sum.self
        case .histogram: Opentelemetry_Proto_Metrics_V1_Histogram.self
        case .exponentialHistogram: Opentelemetry_Proto_Metrics_V1_ExponentialHistogram.self
        case .summary: Opentelemetry_Proto_Metrics_V1_Summary.self
        case .numberPoint: OTLPNumberDataPoint.self
        case .histogramPoint: OTLPHistogramDataPoint.self
        case .exponentialHistogramPoint: Opentelemetry_Proto_Metrics_V1_ExponentialHistogramDataPoint.self
        case .buckets: Opentelemetry_Proto_Metrics_V1_ExponentialHistogramDataPoint.Buckets.self
        case .summaryPoint: Opentelemetry_Proto_Metrics_V1_SummaryDataPoint.self
        case .valueAtQuantile: Opentelemetry_Proto_Metrics_V1_SummaryDataPoint.ValueAtQuantile.self
        case .exemplar: Opentelemetry_Proto_Metrics_V1_Exemplar.self
        }
    }
}
