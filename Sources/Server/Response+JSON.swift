import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PeriscopeQueryAPI

extension Response {
    /// A JSON body from any `Encodable`, with stable key order for scripts and diffs.
    public static func json(status: HTTPResponse.Status = .ok, _ value: some Encodable) -> Response {
        if let direct = value as? any DirectJSON {
            return bytes(status: status, direct.jsonBytes(), contentType: "application/json")
        }
        let encoder = QueryAPI.encoder()
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A body of raw bytes with the given content type.
    public static func bytes(status: HTTPResponse.Status = .ok, _ bytes: [UInt8], contentType: String) -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
