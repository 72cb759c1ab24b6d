/// Why a body could not be (de)compressed.
public enum CompressionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The decompressed size passed the limit: a bomb, or a body to split into smaller batches.
    case outputLimitExceeded(limit: Int)
    /// The caller's `mayGrow` would not let the output grow to `bytes` (a budget it shares).
    case outputRefused(bytes: Int)
    /// The bytes are not a valid stream of this format.
    case corrupt(String)
    /// The input ended before the stream did.
    case truncated

    public var description: String {
        switch self {
        case .outputLimitExceeded(let limit): return "decompressed body exceeds the limit of \(limit) bytes"
        case .outputRefused(let bytes): return "decompressed body of \(bytes) bytes refused by its reader"
        case .corrupt(let reason): return "corrupt compressed body: \(reason)"
        case .truncated: return "compressed body ends before its stream does"
        }
    }
}
