import PeriscopeCompression

/// One input from libFuzzer. The first byte picks zstd or gzip, and whether the rest is a
/// compressed body (decompression may refuse it with a `CompressionError` but must never
/// crash nor return more than its limit — bombs stop at the limit) or plain bytes that must
/// come back unchanged from a compress–decompress round trip.
func decompressFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let limit = 1 << 20
    if data[0] >= 128 {
        let packed = data[0] % 2 == 0 ? Zstd.compress(body) : Gzip.compress(body)
        let unpacked = data[0] % 2 == 0 ? try? Zstd.decompress(packed, limit: limit) : try? Gzip.decompress(packed, limit: limit)
        precondition(unpacked == body, "a compress–decompress round trip changed \(body.count) bytes")
        return 0
    }
    let output: [UInt8]
    do {
        output = data[0] % 2 == 0 ? try Zstd.decompress(body, limit: limit) : try Gzip.decompress(body, limit: limit)
    } catch {
        return 0
    }
    precondition(output.count <= limit, "decompressed \(output.count) bytes past the \(limit)-byte limit")
    return 0
}
