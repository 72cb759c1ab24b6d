/// The HTTP `Content-Encoding` values Periscope accepts on ingest.
public enum ContentEncoding: String, Sendable {
    case identity, gzip, zstd

    /// Reads a `Content-Encoding` header; absent means identity, unknown is `nil`.
    public init?(header: String?) {
        guard let header = header?.trimmingCharacters(in: .whitespaces).lowercased(), !header.isEmpty else {
            self = .identity
            return
        }
        switch header {
        case "identity": self = .identity
        case "gzip", "x-gzip": self = .gzip
        case "zstd": self = .zstd
        default: return nil
        }
    }

    /// Undoes this encoding, refusing output larger than `limit` bytes, or than `mayGrow` lets
    /// decompressed output grow to (`outputRefused`); the identity's output is the body itself.
    public func decode(_ body: [UInt8], limit: Int, mayGrow: (Int) -> Bool = { _ in true }) throws(CompressionError) -> [UInt8] {
        switch self {
        case .identity:
            guard body.count <= limit else { throw .outputLimitExceeded(limit: limit) }
            return body
        case .gzip: return try Gzip.decompress(body, limit: limit, mayGrow: mayGrow)
        case .zstd: return try Zstd.decompress(body, limit: limit, mayGrow: mayGrow)
        }
    }
}

import Foundation
