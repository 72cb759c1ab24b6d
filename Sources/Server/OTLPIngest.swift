import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PeriscopeCompression
import PeriscopeConfig
import PeriscopeModel
import PeriscopeOTLP

/// Size limits on an OTLP/HTTP request body, before and after decompression.
public struct BodyLimits: Hashable, Sendable {
    public var maxBodyBytes: Int
    public var maxDecompressedBytes: Int

    public init(maxBodyBytes: Int = 16 << 20, maxDecompressedBytes: Int = 64 << 20) {
        self.maxBodyBytes = maxBodyBytes
        self.maxDecompressedBytes = maxDecompressedBytes
    }

    /// The least either limit may be: an OTLP request of a few spans needs about this much.
    public static let minimumBytes = 1 << 10

    /// Sets the limits from a command line's size texts (`16MiB`), or else a configuration
    /// file's numbers of bytes; either way each must be at least `minimumBytes`.
    public mutating func set(
        body: (flag: String?, file: Int?), decompressed: (flag: String?, file: Int?), names: (body: String, decompressed: String)
    ) throws(ConfigurationError) {
        if let bytes = try Self.limit(body, name: names.body) { maxBodyBytes = bytes }
        if let bytes = try Self.limit(decompressed, name: names.decompressed) { maxDecompressedBytes = bytes }
    }

    private static func limit(_ value: (flag: String?, file: Int?), name: String) throws(ConfigurationError) -> Int? {
        let bytes: Int?
        switch value {
        case (let text?, _): bytes = ByteSizeText.parse(text)
        case (nil, let number?): bytes = number
        case (nil, nil): return nil
        }
        guard let bytes, bytes >= minimumBytes else {
            let given = value.flag.map { "'\($0)'" } ?? "\(value.file ?? 0)"
            throw ConfigurationError("\(name) must be a size of at least 1KiB, like 16MiB; got \(given)")
        }
        return bytes
    }
}

/// An OTLP/HTTP export request, read and decoded.
public struct OTLPIngestRequest: Sendable {
    public var signal: Signal
    public var format: OTLPFormat
    /// The request body after content decoding, in `format`.
    public var payload: [UInt8]
    public var decoded: OTLPDecoder.Result

    /// The 200 answer OTLP/HTTP prescribes, with partial success for items not stored.
    public var successResponse: Response {
        .bytes(
            OTLPEncoder.response(signal, rejected: decoded.rejectedItems, message: decoded.rejectionReason, format: format),
            contentType: format.rawValue)
    }
}

/// A refused OTLP/HTTP request: the status and one sentence saying what was wrong.
public struct OTLPIngestFailure: Error, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var format: OTLPFormat

    public init(status: HTTPResponse.Status, message: String, format: OTLPFormat) {
        self.status = status
        self.message = message
        self.format = format
    }

    /// The error body OTLP/HTTP prescribes (a `google.rpc.Status`) in the request's format.
    public var response: Response {
        let code: Int32 = status == .unsupportedMediaType || status == .badRequest || status == .contentTooLarge ? 3 : 14
        return .bytes(status: status, OTLPEncoder.status(code: code, message: message, format: format), contentType: format.rawValue)
    }
}

/// Reads, size-checks, decompresses and decodes OTLP/HTTP requests — the same rules at the
/// agent's receiver and the collector's ingest, so both answer bad input alike.
/// See https://opentelemetry.io/docs/specs/otlp/#otlphttp
public struct OTLPIngest: Sendable {
    public var decoder: OTLPDecoder
    public var limits: BodyLimits

    public init(decoder: OTLPDecoder = OTLPDecoder(), limits: BodyLimits = BodyLimits()) {
        self.decoder = decoder
        self.limits = limits
    }

    public func read(_ request: Request, signal: Signal) async throws(OTLPIngestFailure) -> OTLPIngestRequest {
        let contentType = request.headers[.contentType]
        guard let format = OTLPFormat(contentType: contentType) else {
            throw OTLPIngestFailure(
                status: .unsupportedMediaType,
                message: "unsupported Content-Type '\(contentType ?? "")': send application/x-protobuf or application/json",
                format: .json)
        }
        let encodingHeader = request.headers[.contentEncoding]
        guard let encoding = ContentEncoding(header: encodingHeader) else {
            throw OTLPIngestFailure(
                status: .unsupportedMediaType,
                message: "unsupported Content-Encoding '\(encodingHeader ?? "")': send identity, gzip or zstd", format: format)
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limits.maxBodyBytes {
            throw tooLarge(length, format: format)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limits.maxBodyBytes)
        } catch {
            throw tooLarge(nil, format: format)
        }
        let body = Array(buffer.readableBytesView)
        let payload: [UInt8]
        do {
            payload = try encoding.decode(body, limit: limits.maxDecompressedBytes)
        } catch {
            switch error {
            case .outputLimitExceeded(let limit):
                throw OTLPIngestFailure(
                    status: .contentTooLarge,
                    message: "decompressed body exceeds \(limit) bytes: send smaller batches", format: format)
            case .corrupt, .truncated:
                throw OTLPIngestFailure(status: .badRequest, message: "\(encoding.rawValue) body: \(error)", format: format)
            }
        }
        do {
            let decoded = try decoder.decode(signal, payload, format: format)
            return OTLPIngestRequest(signal: signal, format: format, payload: payload, decoded: decoded)
        } catch {
            throw OTLPIngestFailure(status: .badRequest, message: error.message, format: format)
        }
    }

    /// Decodes an export request that arrived as protobuf bytes, already decompressed (how
    /// OTLP/gRPC delivers it), with the same limits and checks as an HTTP body.
    public func read(protobuf payload: [UInt8], signal: Signal) throws(OTLPIngestFailure) -> OTLPIngestRequest {
        guard payload.count <= limits.maxDecompressedBytes else {
            throw OTLPIngestFailure(
                status: .contentTooLarge,
                message: "the message exceeds \(limits.maxDecompressedBytes) bytes: send smaller batches", format: .protobuf)
        }
        do {
            let decoded = try decoder.decode(signal, payload, format: .protobuf)
            return OTLPIngestRequest(signal: signal, format: .protobuf, payload: payload, decoded: decoded)
        } catch {
            throw OTLPIngestFailure(status: .badRequest, message: error.message, format: .protobuf)
        }
    }

    /// Routes `POST /v1/traces`, `/v1/logs` and `/v1/metrics` to `accept`, after reading and
    /// decoding each request here; refused requests are logged and answered without reaching it.
    public func register(
        on router: Router<BasicRequestContext>, logger: Logger,
        accept: @escaping @Sendable (OTLPIngestRequest, Request) async -> OTLPAnswer
    ) {
        for signal in Signal.allCases {
            router.post(RouterPath(signal.path)) { request, _ in
                let received: OTLPIngestRequest
                do throws(OTLPIngestFailure) {
                    received = try await self.read(request, signal: signal)
                } catch {
                    logger.warning("refused \(signal.path): \(error.message)", metadata: ["status": "\(error.status.code)"])
                    return error.response
                }
                return await accept(received, request).response
            }
        }
    }

    private func tooLarge(_ length: Int?, format: OTLPFormat) -> OTLPIngestFailure {
        let size = length.map { "\($0) bytes" } ?? "the body"
        return OTLPIngestFailure(
            status: .contentTooLarge,
            message: "\(size) exceeds the limit of \(limits.maxBodyBytes) bytes: send smaller batches", format: format)
    }
}
