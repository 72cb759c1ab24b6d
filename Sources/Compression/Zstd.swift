import CZstd

/// zstd through the system libzstd. Decompression streams into a buffer with a hard
/// output limit, so a small bomb cannot allocate more than `limit` bytes.
public enum Zstd {
    /// zstd's own default level.
    public static let defaultLevel: Int32 = 3

    public static func compress(_ input: [UInt8], level: Int32 = defaultLevel) -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var output = [UInt8](repeating: 0, count: bound)
        let written = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { destination in
                ZSTD_compress(destination.baseAddress, bound, source.baseAddress, source.count, level)
            }
        }
        // ZSTD_compress only fails for a too-small destination, and `bound` rules that out.
        precondition(ZSTD_isError(written) == 0, "zstd compression failed")
        output.removeSubrange(written...)
        return output
    }

    /// Decompresses one frame that states its size (as `compress` writes it) in a single call:
    /// for data the caller wrote itself, such as the collector's span blocks. A frame without
    /// a size, or stating more than `limit` bytes, is refused.
    public static func decompressFrame(_ input: UnsafeRawBufferPointer, limit: Int) throws(CompressionError) -> [UInt8] {
        let size = ZSTD_getFrameContentSize(input.baseAddress, input.count)
        // ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR, which Swift does not import.
        guard size < UInt64.max - 1 else { throw .corrupt("zstd: no frame size") }
        guard size <= UInt64(limit) else { throw .outputLimitExceeded(limit: limit) }
        var output = [UInt8](repeating: 0, count: Int(size))
        let written = output.withUnsafeMutableBytes { destination in
            ZSTD_decompress(destination.baseAddress, destination.count, input.baseAddress, input.count)
        }
        if ZSTD_isError(written) != 0 { throw .corrupt(String(cString: ZSTD_getErrorName(written))) }
        guard written == Int(size) else { throw .truncated }
        return output
    }

    /// Decompresses `input` (frames one after another), refusing output past `limit` bytes; before
    /// the output grows, `mayGrow` is asked with its new size, and refusing stops with `outputRefused`.
    public static func decompress(_ input: [UInt8], limit: Int, mayGrow: (Int) -> Bool = { _ in true }) throws(CompressionError) -> [UInt8] {
        guard let stream = ZSTD_createDStream() else { throw .corrupt("zstd: out of memory") }
        defer { ZSTD_freeDStream(stream) }
        ZSTD_initDStream(stream)
        var output = [UInt8]()
        let chunk = ZSTD_DStreamOutSize()
        var buffer = [UInt8](repeating: 0, count: chunk)
        var finished = input.isEmpty
        let failure: CompressionError? = input.withUnsafeBytes { (source: UnsafeRawBufferPointer) -> CompressionError? in
            var inBuffer = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
            while true {
                let (result, produced) = buffer.withUnsafeMutableBytes { destination in
                    var outBuffer = ZSTD_outBuffer(dst: destination.baseAddress, size: destination.count, pos: 0)
                    let result = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
                    return (result, outBuffer.pos)
                }
                if ZSTD_isError(result) != 0 {
                    return .corrupt(String(cString: ZSTD_getErrorName(result)))
                }
                if output.count + produced > limit { return .outputLimitExceeded(limit: limit) }
                if produced > 0, !mayGrow(output.count + produced) { return .outputRefused(bytes: output.count + produced) }
                output.append(contentsOf: buffer[0..<produced])
                if result == 0 {
                    finished = true
                    // A frame ended; concatenated frames continue if input remains.
                    if inBuffer.pos == inBuffer.size { break }
                    continue
                }
                finished = false
                if inBuffer.pos == inBuffer.size && produced < chunk { break }
            }
            return nil
        }
        if let failure { throw failure }
        guard finished else { throw .truncated }
        return output
    }
}

/// A zstd compression context and output buffer kept across calls, for a caller that compresses
/// batch after batch: no per-call allocation and zeroing of the context's tables and the output.
/// The output buffer is never zeroed, so only the pages compressed output reached are resident.
/// Not thread-safe; each owner keeps its own.
package final class ZstdCompressor {
    private let context: OpaquePointer
    private var scratch: UnsafeMutableRawPointer?
    private var scratchSize = 0

    package init(level: Int32) {
        // Out of memory for a few hundred KiB at start-up leaves nothing sensible to do.
        guard let context = ZSTD_createCCtx() else { fatalError("zstd: cannot allocate a compression context") }
        self.context = context
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
    }

    deinit {
        ZSTD_freeCCtx(context)
        scratch?.deallocate()
    }

    /// One zstd frame holding `input` (with its content size, as `Zstd.compress` writes it).
    package func compress(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        reserveScratch(bound)
        let written = ZSTD_compress2(context, scratch, bound, input.baseAddress, input.count)
        // Only a too-small destination fails, and `bound` rules that out.
        precondition(ZSTD_isError(written) == 0, "zstd compression failed")
        return Array(UnsafeRawBufferPointer(start: scratch, count: written))
    }

    /// One zstd frame holding `parts` one after another, as `compress` writes their
    /// concatenation, without making it: zstd reads the parts in turn through its stream API.
    package func compress(joining parts: [[UInt8]]) -> [UInt8] {
        if parts.count == 1 { return parts[0].withUnsafeBytes { compress($0) } }
        let total = parts.reduce(0) { $0 + $1.count }
        let bound = ZSTD_compressBound(total)
        reserveScratch(bound)
        ZSTD_CCtx_reset(context, ZSTD_reset_session_only)
        ZSTD_CCtx_setPledgedSrcSize(context, UInt64(total))
        var output = ZSTD_outBuffer(dst: scratch, size: bound, pos: 0)
        for part in parts {
            part.withUnsafeBytes { source in
                var input = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
                while input.pos < input.size {
                    let (taken, written) = (input.pos, output.pos)
                    let result = ZSTD_compressStream2(context, &output, &input, ZSTD_e_continue)
                    // With room for `ZSTD_compressBound` of the whole, only a broken context fails,
                    // and every call moves on; a call that did not would spin here for ever.
                    precondition(ZSTD_isError(result) == 0, "zstd compression failed")
                    precondition(input.pos > taken || output.pos > written, "zstd compression made no progress")
                }
            }
        }
        var end = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while true {
            let written = output.pos
            let remaining = ZSTD_compressStream2(context, &output, &end, ZSTD_e_end)
            precondition(ZSTD_isError(remaining) == 0, "zstd compression failed")
            if remaining == 0 { break }
            precondition(output.pos > written, "zstd compression made no progress")
        }
        return Array(UnsafeRawBufferPointer(start: scratch, count: output.pos))
    }

    /// Frees the output buffer once it has grown past `bytes`, so one outsized input does not
    /// keep its memory for the life of the context.
    package func releaseScratch(above bytes: Int) {
        guard scratchSize > bytes else { return }
        scratch?.deallocate()
        scratch = nil
        scratchSize = 0
    }

    private func reserveScratch(_ bound: Int) {
        guard scratchSize < bound else { return }
        scratch?.deallocate()
        scratch = UnsafeMutableRawPointer.allocate(byteCount: bound, alignment: 16)
        scratchSize = bound
    }
}
