import Foundation
import PeriscopeModel
import SwiftProtobuf

/// Decodes OTLP export requests (protobuf or OTLP/JSON) into the data model, treating the
/// bytes as hostile: malformed input and rule breaks are `OTLPError`s naming the problem.
public struct OTLPDecoder: Sendable {
    public var limits: OTLPLimits

    public init(limits: OTLPLimits = .default) {
        self.limits = limits
    }

    /// A decoded request, with the data points OTLP allows but Periscope does not store
    /// (exponential histograms, summaries), for a partial-success answer.
    public struct Result: Sendable {
        public var batch: TelemetryBatch
        public var rejectedItems: Int
        public var rejectionReason: String
    }

    public func decode(
        _ signal: Signal, _ bytes: [UInt8], format: OTLPFormat, nowUnixNano: UInt64 = WallClock.nowUnixNano()
    ) throws(OTLPError) -> Result {
        // The direct readers count what they build and leave a request past the limit to this
        // path; the generic decoder would build everything before it could count.
        if format == .protobuf, let batch = direct(signal, bytes, nowUnixNano: nowUnixNano) {
            return Result(batch: batch, rejectedItems: 0, rejectionReason: "")
        }
        try ElementCount.check(bytes, signal: signal, format: format, limit: limits.maxElementsPerRequest)
        return try generic(signal, bytes, format: format, nowUnixNano: nowUnixNano)
    }

    /// Refuses protobuf that holds more elements than `limits` allow, as the generic path does
    /// before decoding: for a producer of what a receiver will decode (the agent re-encodes
    /// OTLP/JSON and redacted logs), so that the receiver cannot refuse it later.
    public static func checkElements(_ protobuf: [UInt8], signal: Signal, limits: OTLPLimits = .default) throws(OTLPError) {
        try ElementCount.check(protobuf, signal: signal, format: .protobuf, limit: limits.maxElementsPerRequest)
    }

    /// The direct readers' batch (`OTLPTraceReader`, `OTLPLogsReader`), or nil when the generic
    /// path must decide (anything not well-formed within the limits, and every metrics request).
    func direct(_ signal: Signal, _ bytes: [UInt8], nowUnixNano: UInt64) -> TelemetryBatch? {
        switch signal {
        case .traces: OTLPTraceReader(limits: limits, nowUnixNano: nowUnixNano).resourceSpans(bytes).map(TelemetryBatch.traces)
        case .logs: OTLPLogsReader(limits: limits).resourceLogs(bytes).map(TelemetryBatch.logs)
        case .metrics: nil
        }
    }

    /// SwiftProtobuf's generated messages, then `ProtoToModel`: every format, every input, and
    /// the wording of every error.
    func generic(_ signal: Signal, _ bytes: [UInt8], format: OTLPFormat, nowUnixNano: UInt64) throws(OTLPError) -> Result {
        let translate = ProtoToModel(limits: limits, nowUnixNano: nowUnixNano)
        switch signal {
        case .traces:
            let request: OTLPTraceRequest = try parse(bytes, format: format)
            return Result(batch: .traces(try translate.resourceSpans(request.resourceSpans)), rejectedItems: 0, rejectionReason: "")
        case .logs:
            let request: OTLPLogsRequest = try parse(bytes, format: format)
            return Result(batch: .logs(try translate.resourceLogs(request.resourceLogs)), rejectedItems: 0, rejectionReason: "")
        case .metrics:
            let request: OTLPMetricsRequest = try parse(bytes, format: format)
            var rejected = 0
            let groups = try translate.resourceMetrics(request.resourceMetrics, rejectedPoints: &rejected)
            return Result(
                batch: .metrics(groups), rejectedItems: rejected,
                rejectionReason: rejected > 0 ? "exponential histograms and summaries are not supported yet" : "")
        }
    }

    private func parse<Message: SwiftProtobuf.Message>(_ bytes: [UInt8], format: OTLPFormat) throws(OTLPError) -> Message {
        switch format {
        case .protobuf:
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = ElementCount.maxDepth
            do {
                return try Message(serializedBytes: bytes, options: options)
            } catch {
                throw OTLPError(.malformed, "invalid protobuf \(Message.protoMessageName): \(error)")
            }
        case .json:
            let rewritten = try OTLPJSONIDs.hexToBase64(bytes)
            var options = JSONDecodingOptions()
            options.ignoreUnknownFields = true
            options.messageDepthLimit = ElementCount.maxDepth
            do {
                return try Message(jsonUTF8Bytes: rewritten, options: options)
            } catch {
                throw OTLPError(.malformed, "invalid OTLP/JSON \(Message.protoMessageName): \(error)")
            }
        }
    }
}

/// Encodes the data model as OTLP export requests.
public enum OTLPEncoder {
    public static func encode(_ batch: TelemetryBatch, format: OTLPFormat = .protobuf) -> [UInt8] {
        switch batch {
        case .traces(let groups):
            if format == .protobuf { return OTLPTracesWriter.encode(groups) }
            return serialize(ModelToProto.request(groups), format: format)
        case .logs(let groups):
            if format == .protobuf { return OTLPLogsWriter.encode(groups) }
            return serialize(ModelToProto.request(groups), format: format)
        case .metrics(let groups): return serialize(ModelToProto.request(groups), format: format)
        }
    }

    /// The success body OTLP/HTTP prescribes, with partial success when items were rejected.
    public static func response(_ signal: Signal, rejected: Int = 0, message: String = "", format: OTLPFormat) -> [UInt8] {
        switch signal {
        case .traces:
            var response = OTLPTraceResponse()
            if rejected > 0 { response.partialSuccess = .with { $0.rejectedSpans = Int64(rejected); $0.errorMessage = message } }
            return serialize(response, format: format)
        case .logs:
            var response = OTLPLogsResponse()
            if rejected > 0 { response.partialSuccess = .with { $0.rejectedLogRecords = Int64(rejected); $0.errorMessage = message } }
            return serialize(response, format: format)
        case .metrics:
            var response = OTLPMetricsResponse()
            if rejected > 0 { response.partialSuccess = .with { $0.rejectedDataPoints = Int64(rejected); $0.errorMessage = message } }
            return serialize(response, format: format)
        }
    }

    /// The error body OTLP/HTTP prescribes for 4xx/5xx: a `google.rpc.Status`.
    public static func status(code: Int32, message: String, format: OTLPFormat) -> [UInt8] {
        serialize(Google_Rpc_Status.with { $0.code = code; $0.message = message }, format: format)
    }

    static func serialize(_ message: some SwiftProtobuf.Message, format: OTLPFormat) -> [UInt8] {
        switch format {
        case .protobuf:
            // Serialising an in-memory message only fails for unset required fields, which proto3 has none of.
            return (try? message.serializedBytes()) ?? []
        case .json:
            var options = JSONEncodingOptions()
            options.alwaysPrintEnumsAsInts = true
            let json: [UInt8] = (try? message.jsonUTF8Bytes(options: options)) ?? Array("{}".utf8)
            return OTLPJSONIDs.base64ToHex(json)
        }
    }
}

extension OTLPDecoder {
    /// Items of an accepted export that the receiver rejected (OTLP partial success), and why.
    public struct PartialSuccess: Equatable, Sendable {
        public var rejected: Int64
        public var message: String

        public init(rejected: Int64, message: String) {
            self.rejected = rejected
            self.message = message
        }
    }

    /// The partial success in an export's success body, if it rejected any item; nil for an
    /// empty body (full success), a body that is not one, or nothing rejected.
    public static func partialSuccess(_ bytes: [UInt8], signal: Signal, format: OTLPFormat) -> PartialSuccess? {
        guard !bytes.isEmpty else { return nil }
        func decoded<M: SwiftProtobuf.Message>(_ type: M.Type) -> M? {
            switch format {
            case .protobuf: return try? M(serializedBytes: bytes)
            case .json:
                var options = JSONDecodingOptions()
                options.ignoreUnknownFields = true
                return try? M(jsonUTF8Bytes: bytes, options: options)
            }
        }
        let found: PartialSuccess?
        switch signal {
        case .traces: found = decoded(OTLPTraceResponse.self).map { PartialSuccess(rejected: $0.partialSuccess.rejectedSpans, message: $0.partialSuccess.errorMessage) }
        case .logs: found = decoded(OTLPLogsResponse.self).map { PartialSuccess(rejected: $0.partialSuccess.rejectedLogRecords, message: $0.partialSuccess.errorMessage) }
        case .metrics: found = decoded(OTLPMetricsResponse.self).map { PartialSuccess(rejected: $0.partialSuccess.rejectedDataPoints, message: $0.partialSuccess.errorMessage) }
        }
        guard let found, found.rejected > 0 else { return nil }
        return found
    }

    /// The message of an OTLP/HTTP error body (`google.rpc.Status`), if it is one.
    public static func statusMessage(_ bytes: [UInt8], format: OTLPFormat) -> String? {
        let status: Google_Rpc_Status?
        switch format {
        case .protobuf: status = try? Google_Rpc_Status(serializedBytes: bytes)
        case .json: status = try? Google_Rpc_Status(jsonUTF8Bytes: bytes)
        }
        guard let message = status?.message, !message.isEmpty else { return nil }
        return message
    }
}
