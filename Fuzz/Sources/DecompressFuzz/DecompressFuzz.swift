import PeriscopeCompression

/// One input from libFuzzer. The first byte picks zstd or gzip, and whether the rest is a
/// compressed body (decompression may refuse it with a `CompressionError` but must never
/// crash nor return more than its limit — bombs stop at the limit) or plain bytes that must
/// come back unchanged from a compress–decompress round trip. A reader's cap (`mayGrow`) is
/// held too.
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
    // A reader that caps the output at half of it: refused past the cap, and never more than it allowed.
    let cap = output.count / 2
    do {
        let capped = data[0] % 2 == 0
            ? try Zstd.decompress(body, limit: limit) { $0 <= cap }
            : try Gzip.decompress(body, limit: limit) { $0 <= cap }
        precondition(capped == output && output.count <= cap, "a capped reader got \(capped.count) bytes past its cap \(cap)")
    } catch {
        precondition(output.count > cap, "a capped reader was refused \(output.count) bytes within its cap \(cap): \(error)")
    }
    return 0
}
